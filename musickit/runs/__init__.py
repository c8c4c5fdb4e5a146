"""Run folders and the command-line flags every recipe shares.

A run folder (ARCHITECTURE.md, "The rooms") holds ``model.keras``, the representation config,
``run.json`` (which model family, how it was trained, the flags),
``manifest.json`` (the files the run wrote), ``samples/``, ``metrics.json``,
``history.csv`` and TensorBoard ``logs/``.
"""

from musickit.runs.flags import add_common_flags, add_sampling_flags, check_flags, parse_flags, smoke_or
from musickit.runs.folder import RunFolder

__all__ = ["RunFolder", "add_common_flags", "add_sampling_flags", "check_flags", "parse_flags", "smoke_or"]

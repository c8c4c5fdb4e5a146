"""What the demo page needs to know about a run folder, read from its JSON files (no model is loaded).

Example:

>>> find_runs("no-such-folder")
[]
"""

import dataclasses
import json
import math
import os

from musickit.errors import UsageError
from musickit.runs.folder import RunFolder

RUN_FILE = "run.json"
#: How ``musickit demo`` hands the run folders to the page (``os.pathsep``-separated paths).
RUNS_VARIABLE = "MUSICKIT_DEMO_RUNS"
SAMPLING_FILE = "sampling.json"

#: Metrics the page computes for a new piece when the run's metrics.json names none of its own.
DEFAULT_PIECE_METRICS = (
    "note_density",
    "polyphony",
    "in_scale_ratio",
    "pitch_class_entropy",
    "rhythmic_regularity",
    "repeated_bar_ratio",
)


def find_runs(root="runs", depth=2):
    """Run folders (holding ``run.json``) at most ``depth`` levels under ``root``, sorted; ``[]`` if none."""
    found = []
    if not os.path.isdir(root):
        return found
    root_depth = os.path.abspath(root).rstrip(os.sep).count(os.sep)
    for folder, subfolders, files in os.walk(root):
        level = os.path.abspath(folder).count(os.sep) - root_depth
        if RUN_FILE in files:
            found.append(folder)
            subfolders[:] = []  # a run's own subfolders (samples, stages) are not runs
        elif level >= depth:
            subfolders[:] = []
        subfolders.sort()
    return sorted(found)


@dataclasses.dataclass
class RunSummary:
    """One run folder as the page shows it.

    ``family`` is run.json's ``"model"``; ``sampling`` the saved sampling
    configuration (``{}`` when the run saved none); ``styles`` the trained
    styles; ``corpus`` the held-out pieces' metric means from metrics.json and
    ``corpus_source`` where they came from.
    """

    path: str
    family: str
    info: dict
    sampling: dict
    styles: list
    corpus: dict
    corpus_source: str

    @property
    def name(self):
        return os.path.basename(os.path.normpath(self.path))


def read_json(path, default=None):
    """The JSON in ``path``, or ``default`` when the file is missing or unreadable."""
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return default


def read_run(path):
    """A :class:`RunSummary` of the run folder ``path``; a folder that is not a run is a one-line UsageError."""
    info = RunFolder(path).read_info()
    family = info.get("model")
    if not family:
        raise UsageError(f"{path}/run.json names no model family")
    sampling = read_json(os.path.join(path, SAMPLING_FILE), {})
    corpus, source = corpus_metrics(read_json(os.path.join(path, "metrics.json"), {}))
    styles = list(info.get("styles") or [])
    return RunSummary(path, family, info, sampling if isinstance(sampling, dict) else {}, styles, corpus, source)


def corpus_metrics(metrics):
    """``({metric: held-out mean}, "where in metrics.json")`` from a run's metrics.json; ``({}, "")`` if none.

    The piano-roll recipe keeps them under ``samples.held_out``, the
    transformer recipes under ``generation.held_out``; only numbers are kept.

    >>> corpus_metrics({"samples": {"held_out": {"note_density": 2.5, "pitch_class_histogram": [0.1]}}})
    ({'note_density': 2.5}, 'samples.held_out')
    """
    for section in ("samples", "generation"):
        held_out = (metrics.get(section) or {}).get("held_out") if isinstance(metrics.get(section), dict) else None
        if isinstance(held_out, dict):
            numbers = {
                name: float(value)
                for name, value in held_out.items()
                if isinstance(value, (int, float)) and not isinstance(value, bool) and name != "pieces"
            }
            if numbers:
                return numbers, f"{section}.held_out"
    return {}, ""


def piece_metrics(midi_path, corpus):
    """Rows ``(metric, this piece, held-out mean or None)`` for the piece in ``midi_path``.

    The metrics are those the run's metrics.json holds for its held-out
    pieces that :func:`musickit.metrics.compute_metrics` knows (so the two
    columns are the same measure), else :data:`DEFAULT_PIECE_METRICS`.
    Undefined values (a piece without notes) are ``None``.
    """
    from musickit.metrics import compute_metrics
    from musickit.metrics.evaluation import PIECE_METRICS
    from musickit.music.midi_io import read_midi

    names = [name for name in corpus if name in PIECE_METRICS] or list(DEFAULT_PIECE_METRICS)
    values = compute_metrics(read_midi(midi_path), names=names).values
    rows = []
    for name in names:
        value = float(values[name])
        rows.append((name, None if math.isnan(value) else value, corpus.get(name)))
    return rows


def piece_bars(midi_path):
    """Bars of the MIDI file ``midi_path`` that notes start in, up to its last onset (at its time signatures).

    A note held past its piece's last bar line (a token model's piece ends at a bar line) adds no bar.
    """
    from musickit.music.midi_io import read_midi
    from musickit.music.quantization import quantize

    quantized = quantize(read_midi(midi_path), 4)
    if not quantized.notes:
        return 0
    last_onset = max(note.start_step for note in quantized.notes)
    return sum(1 for start in quantized.bar_starts() if start <= last_onset)

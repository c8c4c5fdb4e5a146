"""The piano-roll LSTM family: 88-key piano rolls on a 16th-note grid, a stacked LSTM, next-frame sampling.

Modules (only :mod:`.config` is imported with the package, so recipes parse flags first):

* :mod:`.config`: :class:`PianoRollLSTMConfig` with ``smoke``, ``cpu`` and ``gpu`` presets.
* :mod:`.pipeline`: ``load_data``, ``build_model``, ``start_run``, ``train``, ``evaluate``,
  ``write_run_samples``, ``sample_metrics``.
* :mod:`.training`: datasets of windows or whole pieces, ``compile_model``, the exact NLL.
* :mod:`.generation`: primers, ``sample_rolls``, ``write_samples``, ``generate_from_run``.
* :mod:`.quality`: metrics of samples beside held-out pieces.

Example:

>>> PianoRollLSTMConfig.preset("gpu").lstm_units
512
"""

from musickit.families.piano_roll_lstm.config import FAMILY_SAMPLING, MODEL_NAME, PRESETS, PianoRollLSTMConfig

__all__ = ["FAMILY_SAMPLING", "MODEL_NAME", "PRESETS", "PianoRollLSTMConfig", "generate_from_run"]


def generate_from_run(run_dir, output_dir, request):
    """``musickit generate`` for a piano-roll run (see :func:`.generation.generate_from_run`)."""
    from musickit.families.piano_roll_lstm.generation import generate_from_run as generate

    return generate(run_dir, output_dir, request)

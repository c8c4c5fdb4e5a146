"""What ``musickit generate`` asks of a family: a plain record, built from flags at the edge."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class GenerationRequest:
    """One ``generate_from_run`` call's settings.

    Args:
        sampling_changes: ``{SamplingConfig field: value}`` laid over the run's
            saved sampling configuration (only what the user set).
        primer: optional MIDI file to continue (default: the run's own primer or prompt).
        num_samples: pieces to write.
        seed: same seed, same pieces.
        bars: bars to generate after the primer (frame models).
        style: style label for conditioned token models.
        form: the sections to write, e.g. ``"ABA"`` (models that write in a form; default: the run's).
        emotion, tempo: emotion and tempo classes (models conditioned on them; default: the snippets' piece's).
        snippets: ``{section letter: MIDI path}``, e.g. ``{"A": "opening.mid"}``: the snippet a section reads
            (models that write in a form; sections without one read the run's saved snippets).
        soundfont: optional ``.sf2`` file for audio.

    Example:

    >>> GenerationRequest(sampling_changes={"temperature": 0.8}, num_samples=1).num_samples
    1
    """

    sampling_changes: dict = dataclasses.field(default_factory=dict)
    primer: str = None
    num_samples: int = 3
    seed: int = 0
    bars: int = 8
    style: str = None
    form: str = None
    emotion: str = None
    tempo: str = None
    snippets: dict = dataclasses.field(default_factory=dict)
    soundfont: str = None

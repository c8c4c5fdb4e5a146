"""What ``musickit generate`` asks of a family: a plain record, built from flags at the edge."""

import dataclasses

from musickit.errors import UsageError

#: Bars a frame model (the piano-roll LSTM) writes after its primer when no length is asked for.
DEFAULT_FRAME_BARS = 8

#: The request fields each family reads besides the sampling changes, count, seed and soundfont.
#: A field set for a family that does not read it is refused in one line (:meth:`GenerationRequest.check_family`)
#: rather than silently ignored. A family missing here is not checked.
FAMILY_FIELDS = {
    "piano_roll_lstm": ("primer", "bars"),
    "music_transformer": ("primer", "bars", "style"),
    "hierarchical_transformer": ("bars", "style", "form", "emotion", "tempo", "snippets"),
    "vae_gan": ("bars",),
    "mel_diffusion": ("primer",),
}

#: How each field is spelled on the command line (the demo's page names the same controls).
FIELD_FLAGS = {
    "primer": "--primer",
    "bars": "--bars",
    "style": "--style",
    "form": "--form",
    "emotion": "--emotion",
    "tempo": "--tempo",
    "snippets": "--snippet",
}


@dataclasses.dataclass(frozen=True)
class GenerationRequest:
    """One ``generate_from_run`` call's settings.

    Args:
        sampling_changes: ``{SamplingConfig field: value}`` laid over the run's
            saved sampling configuration (only what the user set).
        primer: optional MIDI file to continue (default: the run's own primer or prompt).
        num_samples: pieces to write.
        seed: same seed, same pieces.
        bars: the length in bars, at least 1, or ``None`` for the family's default. A frame model writes
            this many bars after its primer (default :data:`DEFAULT_FRAME_BARS`); a token model ends its piece
            after this many bars (REMI ``Bar`` tokens; performance events: bars of two seconds), within its
            token budget (``--max-length`` when given, else all the room its context has), by
            :class:`musickit.generation.processors.length.BarBudget`; default: the run's token count alone.
            A model that writes in a form spreads the bars over its sections (rounded up per section).
        style: style label for conditioned token models.
        form: the sections to write, e.g. ``"ABA"`` (models that write in a form; default: the run's).
        emotion, tempo: emotion and tempo classes (models conditioned on them; default: the snippets' piece's).
        snippets: ``{section letter: MIDI path}``, e.g. ``{"A": "opening.mid"}``: the snippet a section reads
            (models that write in a form; sections without one read the run's saved snippets).
        soundfont: optional ``.sf2`` file for audio.

    Example:

    >>> GenerationRequest(sampling_changes={"temperature": 0.8}, num_samples=1).num_samples
    1
    >>> GenerationRequest(bars=0)
    Traceback (most recent call last):
    ...
    musickit.errors.UsageError: --bars must be at least 1, got 0
    """

    sampling_changes: dict = dataclasses.field(default_factory=dict)
    primer: str = None
    num_samples: int = 3
    seed: int = 0
    bars: int = None
    style: str = None
    form: str = None
    emotion: str = None
    tempo: str = None
    snippets: dict = dataclasses.field(default_factory=dict)
    soundfont: str = None

    def __post_init__(self):
        if self.bars is not None and self.bars < 1:
            raise UsageError(f"--bars must be at least 1, got {self.bars}")

    def check_family(self, family):
        """Refuse, in one line, a field set here that ``family`` (a run.json model name) would not read.

        >>> GenerationRequest(snippets={"A": "opening.mid"}).check_family("vae_gan")
        Traceback (most recent call last):
        ...
        musickit.errors.UsageError: --snippet: vae_gan runs take no snippets; only hierarchical_transformer runs do
        """
        if family not in FAMILY_FIELDS:
            return
        for field, flag in FIELD_FLAGS.items():
            if getattr(self, field) in (None, "", {}) or field in FAMILY_FIELDS[family]:
                continue
            readers = [name for name, fields in FAMILY_FIELDS.items() if field in fields]
            raise UsageError(f"{flag}: {family} runs take no {field}; only {', '.join(readers)} runs do")

"""Which controls each model family supports on the demo page, their ranges, and the presets.

A family name is run.json's ``"model"``. A family not in :data:`FAMILY_CONTROLS`
gets no controls and the page says so (:func:`controls_for` raises a one-line
:class:`~musickit.errors.UsageError`). A new family joins the page with one line here.

Example:

>>> controls_for("piano_roll_lstm")[:3]
('temperature', 'top_k', 'top_p')
>>> apply_preset("calm in C major", {"temperature": 0.9, "key": "primer"}, controls_for("piano_roll_lstm"))["key"]
'C'
"""

import dataclasses

from musickit.errors import UsageError
from musickit.generation.sampling_config import KEYS_FROM_PROMPT
from musickit.music.keys import SCALES, parse_key

#: The sampling settings a run may save (sampling.json); equal to the saved value, they are left unset
#: so the family samples as its recipe did.
SAMPLING_CONTROLS = (
    "temperature",
    "top_k",
    "top_p",
    "key",
    "scale",
    "repetition_penalty",
    "max_polyphony",
    "max_length",
)

_SHARED_SAMPLING = ("temperature", "top_k", "top_p", "key", "scale", "repetition_penalty", "max_polyphony")

#: run.json "model" -> the controls the page shows for it, in page order. Every family has a length in bars
#: (a token model's piece ends after them; its "Length in tokens" is then only a cap).
FAMILY_CONTROLS = {
    "piano_roll_lstm": _SHARED_SAMPLING + ("bars", "primer", "seed"),
    "music_transformer": _SHARED_SAMPLING + ("bars", "max_length", "style", "primer", "seed"),
    # Pieces in a form from section snippets: no primer to continue, so no "primer" key either.
    "hierarchical_transformer": ("form", "snippets", "style", "emotion", "tempo")
    + _SHARED_SAMPLING
    + ("bars", "max_length", "seed"),
    # Pieces decoded from the prior: no primer; a latent stands for one training segment of a few bars.
    "vae_gan": _SHARED_SAMPLING + ("bars", "seed"),
    # A renderer, not a composer: the MIDI it renders (default: a held-out piece) and the noise's seed.
    "mel_diffusion": ("primer", "seed"),
}

#: Labels a family gives a control in its own words.
FAMILY_LABELS = {"mel_diffusion": {"primer": "MIDI to render (optional; default: a held-out piece)"}}


@dataclasses.dataclass(frozen=True)
class Control:
    """One control: its label, default, and bounds (numbers) or choices."""

    label: str
    default: object = None
    minimum: float = None
    maximum: float = None
    step: float = None
    help: str = ""


#: Every control's label, default and range. Defaults are generic; a run's saved sampling replaces them.
CONTROLS = {
    "temperature": Control("Temperature", 1.0, 0.05, 2.0, 0.05, "below 1: safer choices; above 1: bolder"),
    "top_k": Control("Top-k", 0, 0, 200, 1, "keep the k most probable choices (0: off)"),
    "top_p": Control("Top-p (nucleus)", 1.0, 0.05, 1.0, 0.01, "keep the most probable choices up to this mass"),
    "key": Control("Key", "", help="e.g. C, F# minor, Am; 'primer': the primer's key; empty: no key"),
    "scale": Control("Scale", None, help="the key's own scale unless chosen"),
    "repetition_penalty": Control("Repetition penalty", 1.0, 1.0, 2.0, 0.05, "1: off"),
    "max_polyphony": Control("Most keys at once", 0, 0, 12, 1, "0: no limit"),
    "bars": Control(
        "Length in bars",
        4,
        1,
        32,
        1,
        "piano roll: bars after the primer; token models: the piece ends after them (a form spreads them over "
        "its sections, rounded up; a VAE writes at most its training segment's bars)",
    ),
    "max_length": Control(
        "Length in tokens", 512, 16, 4096, 16, "most tokens to generate; the bars end the piece first when they fit"
    ),
    "seed": Control("Seed", 0, 0, 2**31 - 1, 1, "same seed, same piece"),
    "style": Control("Style", None, help="the style the piece is conditioned on"),
    "emotion": Control("Emotion", None),
    "tempo": Control("Tempo class", None),
    "form": Control("Form", "AB", help="section letters, e.g. AB, ABA, AABA"),
    "primer": Control("Primer MIDI (optional)", help="a MIDI file to continue; default: the run's own"),
    "snippets": Control("Section snippets (optional)", help="a MIDI snippet per section letter"),
}

SCALE_CHOICES = tuple(SCALES)

#: Presets: settings laid over the run's own (saved) values. "faithful" is the run as its recipe sampled.
PRESETS = {
    "faithful": {},
    "adventurous": {"temperature": 1.3, "top_k": 0, "top_p": 0.98, "repetition_penalty": 1.1},
    "calm in C major": {
        "temperature": 0.8,
        "key": "C",
        "scale": "major",
        "max_polyphony": 3,
        "emotion": "calm",
        "tempo": "slow",
    },
    "moody in A minor": {"temperature": 0.9, "key": "A minor", "scale": "harmonic_minor", "emotion": "sad"},
    "pentatonic sketch": {"temperature": 0.9, "key": "C", "scale": "pentatonic", "max_polyphony": 2},
    "no loops": {"repetition_penalty": 1.4, "top_p": 0.9},
    "safe and steady": {"temperature": 0.7, "top_k": 8, "top_p": 0.9, "tempo": "moderate"},
}


def controls_for(family):
    """The control names the page shows for ``family``; an unknown family is a one-line error."""
    if family not in FAMILY_CONTROLS:
        raise UsageError(
            f"this run was made by {family!r}, which the demo does not know "
            f"(it knows {', '.join(sorted(FAMILY_CONTROLS))})"
        )
    return FAMILY_CONTROLS[family]


def run_bars(info):
    """The length in bars a run's pieces had (``None`` when its run.json does not say).

    >>> run_bars({"model": "vae_gan", "config": {"bars_per_segment": 2}})
    2
    >>> run_bars({"model": "hierarchical_transformer", "bars_per_section": 4, "flags": {"form": "ABA"}})
    12
    """
    info = info or {}
    if info.get("model") == "vae_gan":
        return (info.get("config") or {}).get("bars_per_segment")
    if info.get("model") == "hierarchical_transformer" and info.get("bars_per_section"):
        form = str((info.get("flags") or {}).get("form") or "AB").strip()
        return int(info["bars_per_section"]) * max(len(form), 1)
    return None


def default_settings(names, saved_sampling=None, info=None):
    """Each control's starting value: the run's saved sampling value where it has one, else the generic default;
    the length in bars is the run's own (:func:`run_bars`, from its run.json ``info``) where it says."""
    saved = saved_sampling or {}
    settings = {}
    for name in names:
        value = saved.get("new_tokens" if name == "max_length" else name, CONTROLS[name].default)
        if name == "bars":
            value = run_bars(info) or value
        settings[name] = "" if name == "key" and value is None else value
    return settings


def apply_preset(preset, run_settings, names):
    """``run_settings`` with the preset's values for the controls in ``names`` (others ignored)."""
    if preset not in PRESETS:
        raise UsageError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return {**run_settings, **{name: value for name, value in PRESETS[preset].items() if name in names}}


def check_settings(settings, names=None):
    """Raise a one-line :class:`UsageError` for an impossible setting, before any model is loaded.

    ``names``, the family's controls, makes a key taken from the primer an error where there is no primer.

    >>> check_settings({"temperature": 0.0})
    Traceback (most recent call last):
    ...
    musickit.errors.UsageError: Temperature must be above 0, got 0.0
    """
    for name, value in settings.items():
        control = CONTROLS.get(name)
        if control is None or value is None or control.minimum is None:
            continue
        if name == "temperature" and not value > 0:
            raise UsageError(f"Temperature must be above 0, got {value}")
        if name == "top_p" and not 0 < value <= 1:
            raise UsageError(f"Top-p must be in (0, 1], got {value}")
        if not control.minimum <= value <= control.maximum:
            raise UsageError(f"{control.label} must be between {control.minimum} and {control.maximum}, got {value}")
    key = (settings.get("key") or "").strip()
    if key in KEYS_FROM_PROMPT and names is not None and "primer" not in names:
        raise UsageError(f"Key {key!r} takes the primer's key, and this model has no primer; name a key such as C")
    if key and key not in KEYS_FROM_PROMPT:
        try:
            parse_key(key)
        except ValueError as error:
            raise UsageError(f"Key {key!r}: {error}") from None
    scale = settings.get("scale")
    if scale is not None and scale not in SCALES:
        raise UsageError(f"Scale must be one of {', '.join(SCALES)}, got {scale!r}")
    form = settings.get("form")
    if form is not None and not (str(form).strip().isalpha() and str(form).strip().isascii()):
        raise UsageError(f"Form {form!r}: use section letters such as AB, ABA or AABA")

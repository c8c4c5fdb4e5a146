"""The hierarchical transformer's settings: one dataclass of defaults and its ``smoke``, ``cpu`` and ``gpu`` presets.

Every number the recipe, the tuner's hypermodel and the benchmark share lives here once. This module
imports nothing heavy, so a recipe can read its defaults for ``--help`` before Keras loads.

Example:

>>> config = HierarchicalConfig.preset("smoke")
>>> config.model_preset, config.snippet_length, config.sequence_length
('tiny', 16, 64)
>>> HierarchicalConfig.preset("cpu").snippet_length, HierarchicalConfig.preset("gpu").snippet_length
(64, 256)
>>> HierarchicalConfig.preset("cpu", snippet_length=32).snippet_length
32
"""

import dataclasses

from musickit.errors import UsageError
from musickit.generation.sampling_config import SamplingConfig

MODEL_NAME = "hierarchical_transformer"
FORMS = ("AB", "ABA", "ABAB", "ABC", "AABA", "ABCD")  # musickit.data.form_synthesis.FORMS
MODEL_PRESETS = ("base", "paper", "small", "tiny")  # musickit.models.decoder_base.DECODER_PRESETS
STAGE_NAMES = ("A", "B", "C", "E")  # musickit.training.staging.STAGES
SCHEDULES = ("warmup_cosine", "inverse_sqrt", "stable_decay", "constant")  # musickit.training.optimizers.SCHEDULES
CURRICULA = ("none", "length", "form", "length,form")
REPRISES = ("copy", "none", "recall")  # musickit.generation.form_writing.REPRISES
#: What a run made before ``sampling.json`` sampled with: temperature 0.9, top-k 20, the grammar alone.
LEGACY_SAMPLING = SamplingConfig(temperature=0.9, top_k=20)
# The family's sampling (the run's sampling.json; `musickit generate --run` starts from it): the REMI note
# rules the Music Transformer samples under (no pitch struck while it sounds, the notes of a position lowest
# first, no silent step, no end before the section's last token), at most as many voices as the snippets
# hold (``max_polyphony`` caps that: 4 for the chorales, 1 for a folk tune), and a soft mask on the key
# estimated from the snippets (chorales are 94% diatonic). Without the rules a CPU-trained model leaves a
# quarter of the bars empty and holds notes for bars. As many voices at least as at most (the floor follows
# the snippets' cap down, see SamplingConfig.voice_floor) and semitone neighbours 1.5 logits rarer: without
# them the pieces sounded 3.2 voices where the chorales sound 4 (benchmarks/RESULTS.md, issue 17).
FAMILY_SAMPLING = SamplingConfig(
    temperature=0.8,
    top_p=0.95,
    key="auto",
    key_penalty=1.2,
    max_polyphony=4,
    min_voices=4,
    clash_penalty=1.5,
    no_duplicates=True,
    max_rest_steps=0,
    ascending_pitches=True,
    full_length=True,
)


@dataclasses.dataclass(frozen=True)
class HierarchicalConfig:
    """Settings of one hierarchical-transformer run; the defaults are the ``cpu`` preset (the recipe's).

    Data: ``data`` (a source string), ``max_files`` (pieces read per style), ``forms`` and ``pieces_per_form``
    (synthetic pieces per form and style), ``bars_per_section``, ``snippet_length`` (tokens of each section the
    encoder reads), ``sequence_length`` (decoder window), ``curriculum``, and the REMI tokens
    (``num_velocity_bins``, ``use_programs``: compact REMI, a note is ``Pitch Duration``), ``recall_windows``
    (also train on windows holding a returning section's first statement before it). Model:
    ``model_preset`` (decoder and encoder size), ``num_layers`` (decoder blocks, default the preset's),
    ``num_memory_vectors``, ``adapter_dim``, ``copy_head`` (a learned pointer over the tokens already
    written). Pre-training: ``pretrain``, ``contrastive_epochs``, ``contrastive_copies``,
    ``contrastive_temperature``, ``contrastive_batch_size``, ``language_model_epochs``,
    ``language_model_steps``. Training: ``stages``, ``epochs`` (per stage), ``batch_size``, ``learning_rate``,
    ``schedule``, ``steps_per_epoch`` (``None``: the whole split). Evaluation: ``validation_steps`` (``None``:
    every held-out batch), ``baseline``, ``style_classifier_epochs``. Generation: ``form``,
    ``tokens_per_section``, ``sampling`` (a :class:`SamplingConfig`, saved as the run's ``sampling.json``),
    ``reprise`` (``"copy"``: a returning section repeats its first statement, as the training pieces do;
    ``"none"``: the model writes it again from its snippet; ``"recall"``: the model writes it again with its first
    statement as its context), ``num_samples``. ``jit_compile``: XLA on or off
    (``"auto"``: Keras decides per backend). ``seed``.
    """

    # Data.
    data: str = "bach,essen"
    max_files: int = 40  # pieces read per style; None for all (433 chorales, 8,000+ folk songs)
    forms: tuple = FORMS
    pieces_per_form: int = 8  # synthetic training pieces per form and style (96 in all)
    bars_per_section: int = 4
    snippet_length: int = 64  # tokens per section snippet (a bar or two of chorale); 256 in the proposal
    sequence_length: int = 256  # decoder window; 1024-4096 on a GPU
    curriculum: str = "none"  # or "length", "form", "length,form"
    # Train also on windows that hold a returning section's first statement right before it (pipeline.
    # recall_sequences), what reprise="recall" shows the model when it writes the returning section.
    recall_windows: bool = True
    # A learned pointer over the earlier statement of the section being written (musickit.layers.copy_head). With
    # the recall windows, the model brings a section back itself: without it the returning A of 16 cpu-preset
    # pieces shared no more notes with the first A than B did (0.21 / 0.23), with it 0.93 / 0.28.
    copy_head: bool = True
    # Compact REMI: no Velocity or Program tokens, so a window or a snippet holds twice the music.
    num_velocity_bins: int = 0
    use_programs: bool = False
    # Model.
    model_preset: str = "small"
    num_layers: int = None  # decoder blocks; None: the model preset's (stage B trains one step per block)
    num_memory_vectors: int = 4
    adapter_dim: int = 32
    # Pre-training.
    pretrain: bool = True
    # Off on a CPU: after 4 epochs it did not help the decoder (benchmarks/RESULTS.md, issue 5); 50 on a GPU.
    contrastive_epochs: int = 0
    contrastive_copies: int = 4  # augmented pairs per snippet and epoch
    contrastive_temperature: float = 0.1
    contrastive_batch_size: int = None  # None: batch_size, at least 4 (each batch must hold negatives)
    language_model_epochs: int = 0  # the decoder's own steps go to end-to-end training on a CPU; 20 on a GPU
    language_model_steps: int = None  # per epoch; None: the whole split
    # Training. End to end ("E"): the staged schedule (A,B,C) adapts a large pre-trained decoder; at CPU scale
    # it starves the decoder (held-out perplexity 21 against 5 for a decoder-only model of the same size).
    stages: str = "E"
    epochs: int = 12  # per stage
    batch_size: int = 8
    learning_rate: float = 1e-3
    schedule: str = "warmup_cosine"
    steps_per_epoch: int = None  # None: the whole training split
    # Evaluation.
    validation_steps: int = None  # held-out batches per evaluation (stages, perplexities); None: all of them
    baseline: bool = True
    style_classifier_epochs: int = 4
    # Generation.
    form: str = "ABA"
    tokens_per_section: int = 160  # about 4 bars of four-part chorale in compact REMI
    sampling: SamplingConfig = FAMILY_SAMPLING
    reprise: str = "recall"
    num_samples: int = 2
    jit_compile: object = "auto"  # or True or False (XLA)
    seed: int = 0

    def __post_init__(self):
        if self.model_preset not in MODEL_PRESETS:
            raise UsageError(f"unknown model preset {self.model_preset!r}; choose one of {', '.join(MODEL_PRESETS)}")
        for stage in str(self.stages).split(","):
            if stage.strip().upper() not in STAGE_NAMES:
                raise UsageError(f"--stages {self.stages!r}: use A, B, C (e.g. A,B,C) or E for end to end")
        curriculum = {part.strip() for part in str(self.curriculum).split(",")}
        if not curriculum <= {"none", "length", "form"} or ("none" in curriculum and len(curriculum) > 1):
            raise UsageError(f"--curriculum {self.curriculum!r}: use none, length, form or length,form")
        if self.reprise not in REPRISES:
            raise UsageError(f"--reprise {self.reprise!r}: use {' or '.join(REPRISES)}")
        if self.schedule not in SCHEDULES:
            raise UsageError(f"unknown learning-rate schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        for name in ("snippet_length", "sequence_length", "batch_size", "epochs", "tokens_per_section"):
            if int(getattr(self, name)) < 1:
                raise UsageError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")

    @classmethod
    def preset(cls, name, **overrides):
        """The ``smoke``, ``cpu`` or ``gpu`` settings, with ``overrides`` (``None`` values are ignored)."""
        if name not in PRESETS:
            raise UsageError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        return dataclasses.replace(
            cls(**PRESETS[name]), **{key: value for key, value in overrides.items() if value is not None}
        )

    def replace(self, **changes):
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        return dataclasses.asdict(self)


PRESETS = {
    # The recipe's defaults: about 17 minutes on a 2-core CPU.
    "cpu": {},
    # One GPU (not timed on one yet): the proposal's snippet length, a 1024-token window, the base size.
    "gpu": {
        "model_preset": "base",
        "max_files": 400,
        "snippet_length": 256,
        "sequence_length": 1024,
        "epochs": 10,
        "contrastive_epochs": 50,
        "language_model_epochs": 20,
        "batch_size": 16,
    },
    # The recipe's steps as the cpu preset takes them (end to end, no pre-training fits), each as small as it goes:
    # what `--smoke` and the tests run. The staged path with pre-training: `--stages A,B,C` with
    # contrastive_epochs and language_model_epochs set (the recipe's slow test).
    "smoke": {
        "epochs": 1,
        "model_preset": "tiny",
        "max_files": 8,
        "batch_size": 4,
        "forms": ("AB", "ABA"),
        "pieces_per_form": 1,
        "snippet_length": 16,
        "sequence_length": 64,
        "contrastive_copies": 1,
        "language_model_steps": 2,
        "steps_per_epoch": 2,
        "style_classifier_epochs": 1,
        "tokens_per_section": 32,
        "num_samples": 1,
        "num_layers": 1,
        "validation_steps": 2,
        # jit_compile stays "auto": one XLA program per fit on JAX (without it JAX compiles each of about 2,000
        # operations on its own: the recipe test took 220 CPU-s that way, 147 jitted), eager PyTorch. On
        # TensorFlow the recipe runs a smoke run's functions eagerly (musickit.utils.compile_cache.run_smoke_eagerly).
    },
}

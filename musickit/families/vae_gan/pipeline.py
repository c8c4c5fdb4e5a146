"""The Transformer-VAE-GAN pipeline: data -> model -> gated stages (transformer, VAE, VAE-GAN) -> evaluation.

Each step is a plain function of a :class:`~musickit.families.vae_gan.config.VaeGanConfig`;
``recipes/vae_gan.py`` calls them top to bottom.

Example (a tiny run, as the tests make it)::

    config = VaeGanConfig.preset("smoke")
    data = load_data(config, seed=0)
    model = build_model(config, data)
    run = RunFolder("runs/demo")
    start_run(run, model, data, config, seed=0)
    model = train_stages(model, data, config, run)
    metrics = evaluate(model, data, config)
"""

import json
import os

import numpy as np

from musickit.errors import UsageError
from musickit.families.vae_gan.bars import bar_settings, beat_settings, token_bars
from musickit.families.vae_gan.config import MODEL_NAME
from musickit.families.vae_gan.gates import check_gate, collapse_measures, greedy_samples
from musickit.runs.folder import DATA_FINGERPRINT_KEY, data_fingerprint


class StageGateError(UsageError):
    """A training stage ended collapsed; its message says which measure failed and what to change."""


def make_tokenizer(config):
    """The tokenizer ``config.tokenizer`` names: compact REMI (unisons merged with ``config.merge_unisons``), or
    performance events (388 or 774 ids)."""
    if config.tokenizer == "remi":
        from musickit.representations.remi import REMITokenizer

        return REMITokenizer(
            steps_per_quarter=config.steps_per_quarter,
            num_velocity_bins=0,
            use_programs=False,
            merge_unisons=config.merge_unisons,
        )
    from musickit.representations.performance import PerformanceTokenizer

    if config.tokenizer == "performance774":
        # 128 note-on + 128 note-off + 388 time shifts of 8 ms + 127 velocities + PAD/BOS/EOS = 774 events
        return PerformanceTokenizer(num_time_shifts=388, time_shift_ms=8, num_velocity_bins=127, special_tokens=True)
    return PerformanceTokenizer(special_tokens=True)


def cut_segments(ids, tokenizer, bars_per_segment, hop_bars, max_tokens):
    """Segments of ``bars_per_segment`` bars starting every ``hop_bars`` bars, at most ``max_tokens`` tokens each."""
    increments, offset = bar_settings(tokenizer)
    bars = token_bars(ids, increments, offset)
    ids = np.asarray(ids, "int32")
    segments = []
    last = int(bars.max(initial=-1))
    for start in range(0, max(last - bars_per_segment + 2, 1), hop_bars):
        chosen = ids[(bars >= start) & (bars < start + bars_per_segment)][:max_tokens]
        if len(chosen) >= 4:
            segments.append(chosen)
    return segments


def pad_segments(segments, length, padding_id):
    array = np.full((len(segments), length), padding_id, "int32")
    for row, segment in enumerate(segments):
        array[row, : len(segment)] = segment
    return array


class SegmentData:
    """What :func:`load_data` returns: the tokenizer, its bar settings, and padded segments per split."""

    def __init__(self, tokenizer, sources, splits, segments, pieces):
        self.tokenizer = tokenizer
        self.sources = sources
        self.splits = splits  # split name -> EncodedSplit (whole pieces)
        self.segments = segments  # split name -> (count, max_segment_tokens) int32
        self.pieces = pieces  # split name -> (count,) index of each segment's piece
        self.bar_increments, self.bar_offset = bar_settings(tokenizer)

    @property
    def held_out_name(self):
        return "test" if len(self.segments["test"]) else "valid"


def load_data(config, seed=0):
    """Read ``config.data``, split by piece, cut each split into padded segments; too little data is one line."""
    from musickit.data import load_dataset
    from musickit.data.dataset import EncodedSplit

    tokenizer = make_tokenizer(config)
    sources = [source.strip() for source in config.data.split(",")]
    splits = {name: EncodedSplit() for name in ("train", "valid", "test")}
    for source in sources:
        dataset = load_dataset(source, tokenizer, seed=seed, max_files=config.max_files_per_source)
        for name, split in splits.items():
            part = dataset.split(name)
            split.extend(part)
            split.metadata.extend(part.metadata)
    segments, pieces = {}, {}
    for name, split in splits.items():
        hop = config.train_hop_bars if name == "train" else config.bars_per_segment
        cut, owners = [], []
        for index, ids in enumerate(split):
            for segment in cut_segments(ids, tokenizer, config.bars_per_segment, hop, config.max_segment_tokens):
                cut.append(segment)
                owners.append(index)
        segments[name] = pad_segments(cut, config.max_segment_tokens, tokenizer.pad_id)
        pieces[name] = np.asarray(owners, "int64")
    if not len(segments["train"]) or not len(segments["valid"]):
        raise UsageError(f"--data {config.data}: too few pieces for training and validation segments; add more files")
    return SegmentData(tokenizer, sources, splits, segments, pieces)


def build_model(config, data):
    """A :class:`~musickit.models.music_vae.MusicVAE` for ``config`` and ``data`` (built, not compiled)."""
    return build_model_for(config, data.tokenizer, steps_per_epoch(config, data))


def build_model_for(config, tokenizer, steps):
    """The model :func:`build_model` makes, from the tokenizer and the training steps per epoch alone (what a
    tuner that has not read the data knows); the KL schedule spans ``config.vae_epochs * steps`` steps."""
    from musickit.models.music_vae import PRESETS, MusicVAE

    bar_increments, bar_offset = bar_settings(tokenizer)
    if config.max_segment_tokens + 1 > PRESETS[config.model_preset]["max_sequence_length"]:
        raise UsageError(
            f"--max-segment-tokens {config.max_segment_tokens} is too long for --preset {config.model_preset}"
        )
    mask_id = getattr(tokenizer, "mask_id", None) if hasattr(tokenizer, "bar_id") else None
    if config.token_dropout and mask_id is None:
        raise UsageError("--token-dropout needs REMI tokens (performance events have no mask token)")
    vae_steps = config.vae_epochs * steps
    beats_per_bar, marker_beats = beat_settings(tokenizer, config.beats_per_bar)
    model = MusicVAE.from_preset(
        config.model_preset,
        vocabulary_size=tokenizer.vocabulary_size,
        encoder_layers=config.encoder_layers,
        num_bars=config.bars_per_segment,
        global_latent_dim=config.global_latent_dim,
        bar_latent_dim=config.bar_latent_dim,
        beats_per_bar=beats_per_bar,
        marker_beats=marker_beats,
        bar_increments=bar_increments,
        bar_offset=bar_offset,
        free_bits=config.free_bits,
        kl_schedule=config.kl_schedule,
        kl_warmup_steps=int(config.kl_warmup_fraction * vae_steps),
        kl_anneal_steps=max(int((1 - config.kl_warmup_fraction) * vae_steps), 1),
        kl_cycles=config.kl_cycles,
        kl_max_weight=config.kl_max_weight,
        token_dropout=config.token_dropout,
        use_latents=config.last_stage != "transformer",
        fitted_prior=config.fitted_prior,
        prior_components=config.prior_components if config.fitted_prior else 0,
        bos_id=tokenizer.bos_id,
        mask_id=mask_id,
        padding_id=tokenizer.pad_id,
        end_id=tokenizer.eos_id,
        dropout=config.dropout,
    )
    model.build()
    return model


def steps_per_epoch(config, data):
    return config.steps_per_epoch or max(len(data.segments["train"]) // config.batch_size, 1)


def compile_for_stage(model, config, stage, total_steps):
    """Compile ``model`` for a fit stage of ``total_steps`` steps: the decoder alone (``transformer``) or the
    whole VAE (``vae``)."""
    model.use_latents = stage != "transformer"
    for layer in model.latent_layers():
        # Set before compile: the language-model stage trains the decoder alone (the latent path gets no gradient).
        layer.trainable = model.use_latents
    compile_token_model(model, config, total_steps)


def compile_token_model(model, config, total_steps):
    """AdamW with clipping at ``config.learning_rate`` (decaying over the last ``config.learning_rate_decay``
    of ``total_steps``), the token cross-entropy, NLL and accuracy metrics: what every fit of the family uses
    (and the plain transformer it is compared with)."""
    import keras

    from musickit.losses.sequence import SequenceCrossEntropy
    from musickit.training.optimizers import OptimizerSettings, build_optimizer

    model.compile(
        optimizer=build_optimizer(
            OptimizerSettings(
                learning_rate=config.learning_rate,
                schedule="stable_decay" if config.learning_rate_decay else "constant",
                total_steps=total_steps,
                decay_fraction=config.learning_rate_decay or 1.0,
                clipnorm=1.0,
            )
        ),
        loss=SequenceCrossEntropy(),
        weighted_metrics=[
            keras.metrics.SparseCategoricalCrossentropy(from_logits=True, name="nll"),
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
        ],
    )


def segment_batches(
    segments, batch_size, padding_id, shuffle_seed=None, repeat=False, start_id=None, transpose=0, pitch_ids=None
):
    """``(segments, segments, mask)`` batches for ``fit``: the VAE reconstructs its input.

    With ``start_id``, the inputs are ``start_id`` then the segment shifted right by one: what a plain
    language model reads to predict the segment (the VAE shifts inside, after encoding the whole segment).
    With ``transpose`` (semitones) each segment's ``pitch_ids`` (a contiguous ``range`` of pitch tokens in
    pitch order) move by one random interval in ``[-transpose, transpose]``, clipped to stay in range.
    """
    import tensorflow as tf

    from musickit.data.augmentation import transpose_token_windows

    dataset = tf.data.Dataset.from_tensor_slices(segments)
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(segments), seed=shuffle_seed)
    if repeat:
        dataset = dataset.repeat()
    if transpose:
        randoms = tf.data.Dataset.random(seed=shuffle_seed, rerandomize_each_iteration=True)
        dataset = tf.data.Dataset.zip((dataset.batch(batch_size), randoms.batch(batch_size)))
        dataset = dataset.map(
            lambda ids, draws: transpose_token_windows(ids, draws, pitch_ids.start, len(pitch_ids), transpose)
        )
    else:
        dataset = dataset.batch(batch_size)

    def pair(ids):
        inputs = ids
        if start_id is not None:
            inputs = tf.concat([tf.fill([tf.shape(ids)[0], 1], tf.cast(start_id, ids.dtype)), ids[:, :-1]], axis=1)
        return inputs, ids, tf.cast(ids != padding_id, "float32")

    return dataset.map(pair)


def training_batches(data, config, seed, start_id=None):
    """The training segments as endless shuffled :func:`segment_batches`, transposed by up to ``config.transpose``
    semitones when they are REMI (one range of ``Pitch`` tokens; performance events keep their pitches)."""
    transpose = config.transpose if config.tokenizer == "remi" else 0
    return segment_batches(
        data.segments["train"],
        config.batch_size,
        data.tokenizer.pad_id,
        shuffle_seed=seed,
        repeat=True,
        start_id=start_id,
        transpose=transpose,
        pitch_ids=data.tokenizer.token_ids("Pitch") if transpose else None,
    )


def start_run(run, model, data, config, seed, flags=None, resume=False, overwrite=False):
    """Open ``run``: ``run.json`` (model config, representation, data fingerprint) and ``sampling.json``."""
    info = {
        "model": MODEL_NAME,
        "model_config": model.get_config(),
        "representation": data.tokenizer.get_config(),
        "config": config.to_dict(),
        "data": config.data,
        "seed": seed,
        DATA_FINGERPRINT_KEY: data_fingerprint(
            config.data, {name: [item.get("name") for item in split.metadata] for name, split in data.splits.items()}
        ),
    }
    resuming = run.start(info, resume=resume, overwrite=overwrite, flags=flags)
    config.sampling.save(run)
    return resuming


def stages_done(run):
    """The stages a run has finished (``stages.json``)."""
    path = run.file("stages.json")
    if not os.path.isfile(path):
        return {}
    with open(path) as handle:
        return json.load(handle)


def train_stages(model, data, config, run, resuming=False, seed=0, verbose=None, eager_steps=False):
    """Train each stage up to ``config.last_stage``, skipping finished ones; gate each; return the model.

    A finished stage is recorded with its gate in ``stages.json``; ``--resume``
    loads ``model.keras`` and continues with the next stage. A failed gate
    raises :class:`StageGateError` (or only prints with ``enforce_gates=False``).
    ``eager_steps`` (``--smoke``: a few steps per stage) runs the training steps
    eagerly on TensorFlow, where tracing them would be nearly all of their time;
    the gates' decoding loops stay compiled (one compile serves every gate).
    """
    from musickit.runs.folder import load_model_file

    done = stages_done(run) if resuming else {}
    if done and os.path.isfile(run.model_path):
        model = load_model_file(run.model_path)
    reference = done.get("vae", {}).get("gate")
    for stage in config.stages_to_run:
        if stage in done:
            print(f"stage {stage}: already trained, gate {done[stage]['gate']}")
            continue
        if stage == "vae_gan":
            gate = train_adversarial(model, data, config, run, seed, reference, eager_steps)
        else:
            gate = train_fit_stage(model, data, config, run, stage, seed, verbose, eager_steps)
        if stage == "vae":
            reference = gate
        done[stage] = {"gate": gate}
        run.save_model(model, data.tokenizer)
        run.write_json(run.file("stages.json"), done)
        check_gate(stage, gate, config, error=StageGateError)
    return model


def train_fit_stage(model, data, config, run, stage, seed, verbose, eager_steps=False):
    """``fit`` one stage (plain Keras ``fit``: the KL cost is the model's own ``add_loss``); return its gate."""
    import keras

    from musickit.runs.callbacks import AtomicBackupAndRestore
    from musickit.utils.compile_cache import run_smoke_eagerly

    epochs = config.transformer_epochs if stage == "transformer" else config.vae_epochs
    compile_for_stage(model, config, stage, epochs * steps_per_epoch(config, data))
    callbacks = [
        AtomicBackupAndRestore(os.path.join(run.backup_dir, stage), delete_checkpoint=True),
        keras.callbacks.CSVLogger(run.file(f"history_{stage}.csv")),
    ]
    pad = data.tokenizer.pad_id
    print(f"stage {stage}: {epochs} epoch(s) of {steps_per_epoch(config, data)} steps")
    with run_smoke_eagerly(eager_steps):
        model.fit(
            training_batches(data, config, seed),
            validation_data=segment_batches(
                data.segments["valid"][: config.evaluation_segments], config.batch_size, pad
            ),
            epochs=epochs,
            steps_per_epoch=steps_per_epoch(config, data),
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles (Keras warns that it ignores shuffle=True for a tf.data.Dataset)
            verbose=(2 if os.environ.get("CI") else "auto") if verbose is None else verbose,
        )
    _copy_history(run, stage)
    if stage != "transformer":
        fit_prior(model, data, config)
    return stage_gate(model, data, config, stage)


def fit_prior(model, data, config):
    """With ``config.fitted_prior``, fit the model's prior to its latents of the training segments (before the
    gate, which decodes prior samples: it checks what a user will sample)."""
    from musickit.families.vae_gan.measures import posterior_means

    if config.fitted_prior:
        model.fit_prior(posterior_means(model, data.segments["train"], config.batch_size))


def _copy_history(run, stage):
    """Append a stage's CSV log to ``history.csv`` with a ``stage`` column."""
    import csv

    source = run.file(f"history_{stage}.csv")
    if not os.path.isfile(source):
        return
    with open(source) as handle:
        rows = list(csv.DictReader(handle))
    exists = os.path.isfile(run.history_path)
    names = ["stage", "epoch", "loss", "nll", "accuracy", "val_loss", "val_nll", "val_accuracy"]
    with open(run.history_path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names, extrasaction="ignore")
        if not exists:
            writer.writeheader()
        for row in rows:
            writer.writerow({"stage": stage, **row})


def train_adversarial(model, data, config, run, seed, reference, eager_steps=False):
    """``gan_steps`` alternating discriminator/generator steps on training segments; return the gate."""
    from musickit.families.vae_gan.measures import held_out_nll
    from musickit.models.sequence_discriminator import MultiScaleDiscriminator
    from musickit.training.adversarial import AdversarialTrainer
    from musickit.training.optimizers import OptimizerSettings, build_optimizer
    from musickit.utils.compile_cache import run_smoke_eagerly
    from musickit.utils.progress import progress

    model.use_latents = True
    held_out = data.segments["valid"][: config.evaluation_segments]
    nll_before = held_out_nll(model, held_out, config.batch_size)
    trainer = AdversarialTrainer(
        model,
        MultiScaleDiscriminator(hidden_dim=min(model.hidden_dim, 64)),
        generator_optimizer=build_optimizer(OptimizerSettings(learning_rate=config.learning_rate / 10, clipnorm=1.0)),
        adversarial_weight=config.adversarial_weight,
        feature_matching_weight=config.feature_matching_weight,
        gumbel_temperature=config.gumbel_temperature,
        seed=seed,
    )
    generator = np.random.default_rng(seed)
    train = data.segments["train"]
    logs = {}
    with open(run.file("history_vae_gan.csv"), "w") as handle, run_smoke_eagerly(eager_steps):
        for step in progress(range(config.gan_steps), "stage vae_gan: adversarial steps", total=config.gan_steps):
            batch = train[generator.choice(len(train), size=min(config.batch_size, len(train)), replace=False)]
            logs = trainer.train_step(batch)
            if step == 0:
                handle.write(",".join(["step", *logs]) + "\n")
            handle.write(",".join([str(step), *(f"{value:.5f}" for value in logs.values())]) + "\n")
    fit_prior(model, data, config)
    gate = stage_gate(model, data, config, "vae_gan")
    gate["nll_before"], gate["nll_after"] = nll_before, held_out_nll(model, held_out, config.batch_size)
    gate["nll_increase"] = (gate["nll_after"] - nll_before) / max(nll_before, 1e-9)
    if reference and reference.get("distinct4"):
        gate["distinct4_change"] = gate["distinct4"] / reference["distinct4"] - 1.0
    gate["last_logs"] = logs
    return gate


def stage_gate(model, data, config, stage):
    """The measures a stage's gate checks: greedy decoding's longest token run and distinct ratio, and
    (with latents) teacher-forced accuracy, KL per active dimension and the active units fraction."""
    from musickit.families.vae_gan.measures import posterior_measures

    latents = None if stage == "transformer" else model.sample_prior(4, config.prior_temperature, seed=0)
    # The segments' length, as every greedy decode of the family uses: the engine compiles its loop once.
    gate = collapse_measures(greedy_samples(model, latents, config.max_segment_tokens + 1))
    if stage != "transformer":
        gate.update(posterior_measures(model, data.segments["valid"][: config.evaluation_segments], config.batch_size))
    return gate


def evaluate(model, data, config):
    """The held-out measurements (see :func:`.measures.held_out_measures`)."""
    from musickit.families.vae_gan.measures import held_out_measures

    return held_out_measures(model, data, config)

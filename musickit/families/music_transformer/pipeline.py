"""The Music Transformer pipeline: data -> model -> train -> evaluate -> generate -> run folder.

Each step is a plain function of a
:class:`~musickit.families.music_transformer.config.MusicTransformerConfig`;
``recipes/music_transformer.py`` calls them top to bottom, the tuner and the
benchmarks call the ones they need.

Example (a tiny run, as the tests make it)::

    config = MusicTransformerConfig.preset("smoke")
    data = load_data(config, seed=0)
    model = build_model(config, data)
    run = RunFolder("runs/demo")
    resuming = start_run(run, model, data, config, seed=0)
    train(model, data, config, run, resuming=resuming)
    metrics = evaluate(model, data, config)
    metrics["generation"] = write_run_samples(model, data, config, run, seed=0)
"""

import dataclasses
import os
import time

import numpy as np

from musickit.errors import UsageError
from musickit.families.music_transformer.config import DEFAULT_STYLE, MODEL_NAME, SAMPLE_METRICS
from musickit.families.music_transformer.generation import (
    generate_pieces,
    prompt_from_file,
    prompt_from_sections,
    write_samples,
)
from musickit.runs.folder import DATA_FINGERPRINT_KEY, data_fingerprint


@dataclasses.dataclass
class TransformerData:
    """What :func:`load_data` returns: the tokenizer, the split pieces, their styles and the prompted examples."""

    sources: list
    tokenizer: object
    splits: dict  # "train" / "valid" / "test" -> EncodedSplit (token ids with metadata)
    styles: list
    style: str  # the style generated pieces ask for
    train_examples: dict
    valid_examples: dict
    default_prompt: list  # the sections of a held-out piece, as a prompt

    @property
    def held_out(self):
        return self.splits["test"] or self.splits["valid"]


def make_tokenizer(config):
    """The REMI+ tokenizer ``config`` describes."""
    from musickit.representations.remi import REMITokenizer

    return REMITokenizer(
        steps_per_quarter=config.steps_per_quarter,
        num_velocity_bins=config.num_velocity_bins,
        use_programs=config.use_programs,
    )


def load_data(config, seed=0):
    """Read every source in ``config.data``, split it, make prompted examples; bad data is a one-line error."""
    from musickit.data import load_dataset
    from musickit.data.dataset import EncodedSplit
    from musickit.generation.prompts import piece_snippets, prompted_examples

    tokenizer = make_tokenizer(config)
    sources = [source.strip() for source in config.data.split(",")]
    splits = {name: EncodedSplit() for name in ("train", "valid", "test")}
    for source in sources:
        dataset = load_dataset(source, tokenizer, seed=seed, max_files=config.max_files_per_source)
        for name, split in splits.items():
            part = dataset.split(name)
            split.extend(part)
            split.metadata.extend(part.metadata)
    styles = sorted({item.get("style") for item in splits["train"].metadata if item.get("style")})
    if config.style is None:  # the default: bach when it is trained on, else the first style (none for a plain folder)
        style = DEFAULT_STYLE if DEFAULT_STYLE in styles else (styles[0] if styles else None)
    elif config.style not in styles:
        raise UsageError(f"--style {config.style!r} is not among the training styles {styles}; pick one of them")
    else:
        style = config.style
    if not len(splits["valid"]):
        raise UsageError(f"--data {config.data}: too few pieces to hold some out for validation; add more files")
    train_examples, valid_examples = (
        prompted_examples(splits[name], tokenizer, config.sequence_length, config.snippet_length, config.form, styles)
        for name in ("train", "valid")
    )
    held_out, metadata = splits["test"] or splits["valid"], splits["test"].metadata or splits["valid"].metadata
    default_prompt = prompt_from_sections(
        piece_snippets(held_out[0], metadata[0], config.form), tokenizer, config.form, config.snippet_length
    )
    return TransformerData(sources, tokenizer, splits, styles, style, train_examples, valid_examples, default_prompt)


def fit_sampling_to_corpus(config, data):
    """``config`` whose sampling keeps the training pieces' voice range, when it asks for that
    (``voices_from_corpus``, the family's default): 4 voices for the Bach chorales, 1 for folk tunes."""
    if not config.sampling.voices_from_corpus:
        return config
    from musickit.metrics.features import voice_range

    scores = [data.tokenizer.decode(ids) for ids in data.splits["train"]]
    return config.replace(sampling=config.sampling.fitted_to_corpus(*voice_range(scores)))


def build_model(config, data, compile=True):
    """A :class:`~musickit.models.MusicTransformer` for ``config`` and ``data``'s tokenizer and styles.

    Compiled (unless ``compile=False``) with AdamW on a warmup-cosine
    schedule over the run's steps, the configured loss, and ``nll`` (plain
    cross-entropy per piece token) and ``accuracy`` metrics.
    """
    from musickit.losses.sequence import sequence_loss
    from musickit.models.music_transformer import MusicTransformer
    from musickit.training.optimizers import learning_rate_schedule

    tokenizer = data.tokenizer
    model = MusicTransformer.from_preset(
        config.model_preset,
        vocabulary_size=tokenizer.vocabulary_size,
        position_encoding=config.position_encoding,
        condition_sizes={"style": len(data.styles)},  # an unknown style is id -1: no style conditioning
        conditioning_mode=config.conditioning,
        padding_id=tokenizer.pad_id,
        end_id=tokenizer.eos_id,
    )
    if config.sequence_length > model.max_sequence_length:
        raise UsageError(
            f"--sequence-length {config.sequence_length} exceeds the {config.model_preset} preset's "
            f"{model.max_sequence_length}; shorten it or choose a larger --preset"
        )
    model.build()  # BackupAndRestore needs a built model before fit
    if compile:
        total_steps = config.epochs * steps_per_epoch(config, data)
        schedule = learning_rate_schedule("warmup_cosine", config.learning_rate, total_steps, config.warmup_fraction)
        compile_model(model, config, schedule, sequence_loss(config.loss, label_smoothing=config.label_smoothing))
    return model


def optimizer_for(config, learning_rate):
    """The family's AdamW (``musickit.training.optimizers``) at ``learning_rate``: a number or a schedule."""
    from musickit.training.optimizers import OptimizerSettings, build_optimizer

    settings = OptimizerSettings(weight_decay=config.weight_decay, clipnorm=config.clipnorm)
    if isinstance(learning_rate, (int, float)):
        return build_optimizer(settings.replace(learning_rate=float(learning_rate)))
    return build_optimizer(settings, schedule=learning_rate)


def compile_model(model, config, learning_rate, loss, accuracy=True, jit_compile="auto"):
    """Compile ``model`` with AdamW (``config``'s weight decay and clipnorm) at ``learning_rate`` (or a schedule).

    Whatever ``loss`` is (smoothed, focal), the metric ``nll`` is the plain
    cross-entropy per piece token, so runs and tuner trials compare on one
    scale; ``accuracy`` adds token accuracy.
    """
    import keras

    metrics = [keras.metrics.SparseCategoricalCrossentropy(from_logits=True, name="nll")]
    if accuracy:
        metrics.append(keras.metrics.SparseCategoricalAccuracy(name="accuracy"))
    model.compile(
        optimizer=optimizer_for(config, learning_rate),
        loss=loss,
        weighted_metrics=metrics,
        jit_compile=jit_compile,
    )
    return model


def steps_per_epoch(config, data):
    """Training batches per epoch: ``config.steps_per_epoch``, else the whole training split."""
    return config.steps_per_epoch or len(data.train_examples["token_ids"]) // config.batch_size or 1


def start_run(run, model, data, config, seed, flags=None, resume=False, overwrite=False):
    """Open ``run`` (a :class:`~musickit.runs.RunFolder`): ``run.json`` and ``sampling.json``; ``True`` if resuming."""
    info = {
        "model": MODEL_NAME,
        "model_config": model.get_config(),
        "representation": data.tokenizer.get_config(),
        "data": config.data,
        "max_files": config.max_files_per_source,
        "seed": seed,
        "styles": data.styles,
        "default_style": data.style,
        "form": config.form,
        "snippet_length": config.snippet_length,
        "sequence_length": config.sequence_length,
        "default_prompt": data.default_prompt,
        "new_tokens": config.sampling.new_tokens,
        DATA_FINGERPRINT_KEY: data_fingerprint(
            config.data, {name: [item.get("name") for item in split.metadata] for name, split in data.splits.items()}
        ),
    }
    resuming = run.start(info, resume=resume, overwrite=overwrite, flags=flags)
    config.sampling.save(run)  # what `musickit generate --run` will sample with
    return resuming


def train(model, data, config, run, resuming=False, seed=0, verbose=None):
    """Fit on the prompted examples with the standard callbacks; save the model."""
    from musickit.generation.prompts import prompted_dataset
    from musickit.training.callbacks import standard_callbacks

    train_batches = prompted_dataset(data.train_examples, config.batch_size, seed=seed)
    valid_batches = prompted_dataset(data.valid_examples, config.batch_size, shuffle=False)
    # The learning rate follows the warmup-cosine schedule: no plateau callback to overwrite it.
    callbacks = standard_callbacks(
        run, monitor="val_nll", patience=config.patience, resume=resuming, reduce_on_plateau=False
    )
    history = model.fit(
        train_batches,
        validation_data=valid_batches,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        validation_steps=config.validation_steps,
        callbacks=callbacks,
        shuffle=False,  # the pipeline shuffles
        verbose=(2 if os.environ.get("CI") else "auto") if verbose is None else verbose,
    )
    run.save_model(model, data.tokenizer)
    return history


def evaluate(model, data, config):
    """NLL in nats per piece token (prompt tokens excluded), accuracy and perplexity on the held-out splits."""
    from musickit.generation.prompts import prompted_dataset, prompted_examples

    metrics = {}
    for name in ("valid", "test"):
        if len(data.splits[name]):
            examples = prompted_examples(
                data.splits[name],
                data.tokenizer,
                config.sequence_length,
                config.snippet_length,
                config.form,
                data.styles,
            )
            batches = prompted_dataset(examples, config.batch_size, shuffle=False)
            results = model.evaluate(batches, steps=config.evaluation_steps, verbose=0, return_dict=True)
            metrics[f"{name}_nll"], metrics[f"{name}_accuracy"] = results["nll"], results["accuracy"]
            metrics[f"{name}_perplexity"] = float(np.exp(results["nll"]))
    return metrics


def prompt_for(config, data, primer_path=None):
    """The prompt to continue: a MIDI file's sections, else the held-out piece's (``data.default_prompt``)."""
    if primer_path:
        return prompt_from_file(primer_path, data.tokenizer, config.form, config.snippet_length)
    return data.default_prompt


def write_run_samples(model, data, config, run, seed=0, primer_path=None, soundfont=None):
    """Prompt, sample ``num_samples`` pieces, write ``samples/``; return the run's ``generation`` metrics."""
    from musickit.metrics import compute_metrics_batch

    prompt = prompt_for(config, data, primer_path)
    started = time.perf_counter()
    pieces = generate_pieces(
        model,
        data.tokenizer,
        prompt,
        config.num_samples,
        config.sampling,
        seed=seed,
        style=data.style,
        styles=data.styles,
    )
    seconds = time.perf_counter() - started
    samples = write_samples(pieces, data.tokenizer, run.samples_dir, soundfont=soundfont)
    generated, _ = compute_metrics_batch(
        [sample["score"] for sample in samples if sample["score"].notes], SAMPLE_METRICS
    )
    held_out = [data.tokenizer.decode(piece) for piece in list(data.held_out)[: config.held_out_pieces]]
    reference, _ = compute_metrics_batch(held_out, SAMPLE_METRICS)
    return samples, {
        "tokens_per_second_including_compile": sum(len(piece) for piece in pieces) / seconds,
        "prompt_tokens": len(prompt),
        "generated": {name: _mean(values) for name, values in generated.items()},
        "held_out": {name: _mean(values) for name, values in reference.items()},
    }


def _mean(values):
    """Mean over the pieces where a metric exists (``None`` when it exists for none)."""
    values = np.asarray(values, float)
    return float(values[np.isfinite(values)].mean()) if np.isfinite(values).any() else None

"""The piano-roll LSTM pipeline: data -> model -> train -> evaluate -> generate -> run folder.

Each step is a plain function of a
:class:`~musickit.families.piano_roll_lstm.config.PianoRollLSTMConfig`;
``recipes/piano_roll_lstm.py`` calls them top to bottom, the tuner and the
benchmarks call the ones they need.

Example (a tiny run, as the tests make it)::

    config = PianoRollLSTMConfig.preset("smoke")
    data = load_data(config, "bach", seed=0)
    model = build_model(config)
    run = RunFolder("runs/demo")
    resuming = start_run(run, model, data, config, source="bach", seed=0)
    train(model, data, config, run, resuming=resuming, seed=0)
    metrics = evaluate(model, data, config)
    samples, rolls = write_run_samples(model, data, config, run, seed=0)
"""

import dataclasses
import os

from musickit.errors import UsageError
from musickit.families.piano_roll_lstm.config import MODEL_NAME
from musickit.families.piano_roll_lstm.generation import primer_from_file, primer_from_roll, sample_rolls, write_samples
from musickit.families.piano_roll_lstm.quality import music_quality, side_by_side_metrics
from musickit.families.piano_roll_lstm.training import (
    adapt_windows,
    compile_model,
    flatten_frames,
    sequence_negative_log_likelihood,
)
from musickit.runs.folder import DATA_FINGERPRINT_KEY, data_fingerprint


@dataclasses.dataclass
class PianoRollData:
    """What :func:`load_data` returns: the representation, the split pieces, the window datasets and the primer."""

    source: str
    representation: object
    dataset: object  # a musickit.data.Dataset: train / valid / test rolls
    train: object  # tf.data windows, arranged for the model's head
    valid: object
    primer: object  # (steps, keys[, 2]) roll
    qpm: float


def load_data(config, source, seed=0, primer_path=None):
    """Read ``source``, split it, cut training windows, pick the primer; impossible data is a one-line error."""
    from musickit.data import load_dataset, piano_roll_windows
    from musickit.representations.piano_roll import PianoRoll

    representation = PianoRoll(steps_per_quarter=config.steps_per_quarter, onset_channel=config.onsets)
    given_primer = primer_from_file(primer_path, representation) if primer_path else None  # fail early
    dataset = load_dataset(source, representation, seed=seed, max_files=config.max_files)
    window = config.window
    if not any(len(roll) > window for roll in dataset.train):
        raise UsageError(
            f"--data {source}: every training piece is shorter than one {window}-step window "
            f"({window // config.steps_per_bar} bars); use longer pieces or more files"
        )
    if not len(dataset.valid):
        raise UsageError(f"--data {source}: too few pieces to hold some out for validation; add more files")
    primer, qpm = given_primer or (
        primer_from_roll((dataset.test or dataset.valid)[0], config.steps_per_quarter, config.primer_bars),
        config.qpm,
    )
    train = piano_roll_windows(
        dataset.train, window, batch_size=config.batch_size, transpose=config.transpose, seed=seed, drop_remainder=True
    )
    valid = piano_roll_windows(
        dataset.valid, window, hop=window, batch_size=config.batch_size, transpose=0, shuffle=False
    )
    return PianoRollData(
        source=source,
        representation=representation,
        dataset=dataset,
        train=adapt_windows(train, config.head, config.frame_channels),
        valid=adapt_windows(valid, config.head, config.frame_channels),
        primer=primer,
        qpm=qpm,
    )


def fit_sampling_to_corpus(config, data):
    """``config`` whose sampling keeps the training pieces' voice range, when it asks for that
    (``voices_from_corpus``, the family's default): 4 voices for the Bach chorales, 1 for folk tunes.

    The number of keys sounding in every frame of the training rolls is that range's evidence.
    """
    if not config.sampling.voices_from_corpus:
        return config
    from musickit.metrics.features import voice_range

    scores = [data.representation.decode(roll) for roll in data.dataset.train]
    return config.replace(sampling=config.sampling.fitted_to_corpus(*voice_range(scores)))


def build_model(config, compile=True):
    """A :class:`~musickit.models.PianoRollLSTM` for ``config``, compiled for training unless ``compile=False``."""
    from musickit.models.piano_roll_lstm import PianoRollLSTM

    model = PianoRollLSTM(
        lstm_units=config.lstm_units,
        num_layers=config.num_layers,
        dropout=config.dropout,
        recurrent_dropout=config.recurrent_dropout,
        dense_units=config.dense_units,
        dense_dropout=config.dense_dropout,
        head=config.head,
        head_hidden_units=config.head_hidden_units,
        frame_skip=config.frame_skip,
        frame_channels=config.frame_channels,
        metre_period=config.steps_per_bar if config.metre else 0,
    )
    if compile:
        positive_weight = config.positive_weight if config.head == "independent" else 1.0
        compile_model(model, learning_rate=config.learning_rate, positive_weight=positive_weight)
    return model


def _piece_names(split):
    """``{split name: piece names}`` for :func:`~musickit.runs.folder.data_fingerprint` (``split(name)``: a split)."""
    return {name: [item.get("name") for item in split(name).metadata] for name in ("train", "valid", "test")}


def start_run(run, model, data, config, source, seed, flags=None, resume=False, overwrite=False):
    """Open ``run`` (a :class:`~musickit.runs.RunFolder`): ``run.json``, ``sampling.json``, ``primer.mid``.

    Returns ``True`` when resuming an interrupted run. ``flags`` (a dict or
    the recipe's parsed flags) are stored in ``run.json`` and compared on resume.
    """
    from musickit.music.midi_io import write_midi

    info = {
        "model": MODEL_NAME,
        "model_config": model.get_config(),
        "representation": data.representation.get_config(),
        "data": source,
        "seed": seed,
        "default_primer_path": "primer.mid",
        DATA_FINGERPRINT_KEY: data_fingerprint(source, _piece_names(data.dataset.split)),
    }
    resuming = run.start(info, resume=resume, overwrite=overwrite, flags=flags)
    config.sampling.save(run)  # what `musickit generate --run` will sample with
    write_midi(data.representation.decode(data.primer, qpm=data.qpm), run.file("primer.mid"))
    return resuming


def train(model, data, config, run, resuming=False, seed=0, verbose=None):
    """Fit with the standard callbacks (a MIDI sample every ``sample_every`` epochs); save the model."""
    from musickit.music.midi_io import write_midi
    from musickit.training.callbacks import SampleEveryEpochs, standard_callbacks
    from musickit.viz.piano_roll import plot_history

    def write_epoch_sample(epoch):
        rolls = sample_rolls(model, data.representation, data.primer, 2, 1, seed, config.sampling)
        write_midi(
            data.representation.decode(rolls[0], qpm=data.qpm), run.file("training_samples", f"epoch_{epoch:03d}.mid")
        )

    callbacks = standard_callbacks(
        run,
        patience=config.patience,
        resume=resuming,
        extra=[SampleEveryEpochs(write_epoch_sample, every=config.sample_every)],
    )
    history = model.fit(
        data.train,
        validation_data=data.valid,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        validation_steps=config.validation_steps,
        callbacks=callbacks,
        shuffle=False,  # the windows are shuffled by the pipeline
        verbose=(2 if os.environ.get("CI") else "auto") if verbose is None else verbose,
    )
    run.save_model(model, data.representation)
    plot_history(run.history_path, run.file("history.png"), title="piano-roll LSTM training")
    return history


def evaluate(model, data, config):
    """Exact NLL (nats per frame) on whole held-out pieces, beside the per-key Markov baseline.

    With onsets both count the sustain and the onset bit of every key (176 bits a frame).
    Returns ``{"valid_nll", "test_nll" (when there is a test split), "markov_valid_nll"}``.
    """
    from musickit.models.markov_baseline import PerKeyMarkovBaseline

    def bits(rolls):
        return [flatten_frames(roll) if config.onsets else roll for roll in rolls]

    markov = PerKeyMarkovBaseline().fit(bits(data.dataset.train))
    pieces = {name: list(data.dataset.split(name))[: config.evaluation_pieces] for name in ("valid", "test")}
    likelihood = {
        f"{name}_nll": sequence_negative_log_likelihood(model, rolls) for name, rolls in pieces.items() if rolls
    }
    likelihood["markov_valid_nll"] = markov.negative_log_likelihood(bits(pieces["valid"]))
    return likelihood


def write_run_samples(model, data, config, run, seed=0, soundfont=None):
    """Continue the primer ``num_samples`` times by ``bars`` bars; write ``samples/``; return ``(written, rolls)``."""
    rolls = sample_rolls(
        model, data.representation, data.primer, config.bars, config.num_samples, seed, config.sampling
    )
    written = write_samples(
        rolls, len(data.primer), data.representation, run.samples_dir, data.qpm, soundfont=soundfont
    )
    return written, rolls


def sample_metrics(rolls, data, config, seed=0):
    """``{"samples": side-by-side metrics, "music_quality": the evaluator's comparison}`` of generated rolls."""
    dataset, primer_steps = data.dataset, len(data.primer)
    generated = [roll[primer_steps:] for roll in rolls]
    held_out = list(dataset.test or dataset.valid)[: config.evaluation_pieces]
    # the evaluator's reference: the whole test split (a tiny --max-files split adds its validation pieces)
    unseen = list(dataset.test) if len(dataset.test) >= 2 else list(dataset.test) + list(dataset.valid)
    return {
        "samples": side_by_side_metrics(generated, held_out, dataset.train, data.representation, data.qpm),
        "music_quality": music_quality(
            rolls, primer_steps, unseen, dataset.train, data.representation, data.qpm, seed=seed
        ),
    }

"""
Title: Music Transformer with prompted sections and KV-cached sampling
Description: Train the decoder-only Music Transformer baseline on REMI tokens of Bach chorales (add folk
  tunes with --data bach,essen,ryans), prompted with section snippets, then write new pieces in a chosen style.
Run time: 37 min 50 s wall on a 2-core CPU shared with four other jobs (10 min 44 s of CPU time, 3 min of
  it parsing the corpus, cached after the first run) with the defaults (the `small` preset, 4 epochs);
  `--smoke` takes seconds of CPU. On a GPU use `--preset base --epochs 50` (the family's `gpu` preset).

Run it with no arguments:

    python recipes/music_transformer.py

It reads Bach chorales from music21 (no download; `--data bach,essen,ryans` adds Essen and Ryan's Mammoth
folk tunes), encodes them as compact REMI+ tokens (a note is Pitch Duration; a STYLE token per corpus),
and builds prompted sequences in the baseline format

    PROMPT_START SECTION_A [snippet A] SECTION_B [snippet B] PROMPT_END [full piece] EOS

with the loss on the piece only. The model is a decoder-only transformer with relative attention
(Huang et al. 2018) and the style injected at every block by FiLM. It then prompts with the sections of a
held-out piece and samples under the REMI grammar and note rules (four voices at most, no pitch struck
twice, no rests, notes of a position lowest first, a soft key taken from the prompt), and writes the run
folder (sampling.json holds the sampling configuration `musickit generate` reuses):

    runs/music_transformer/
      model.keras  representation.json  run.json  sampling.json  metrics.json  history.csv  logs/
      samples/sample_N.mid  samples/sample_N.png  samples/sample_N.wav

Generate again later, sampling as the recipe did, with `musickit generate --run runs/music_transformer`.
"""

import argparse
import sys

from musickit.errors import UsageError
from musickit.families.music_transformer.config import (
    CONDITIONING_MODES,
    DEFAULT_STYLE,
    LOSSES,
    MODEL_PRESETS,
    POSITION_ENCODINGS,
    SECTION_LETTERS,
    MusicTransformerConfig,
)
from musickit.runs import RunFolder, add_common_flags, add_sampling_flags, parse_flags
from musickit.runs.distribution_flags import add_distribution_flags, configure_distribution
from musickit.runs.entry import run_main
from musickit.runs.flags import config_changes_from_flags
from musickit.runs.sampling_flags import sampling_config_from_flags, sampling_flag_defaults

# Keras, TensorFlow and the model load inside main(), after the flags are checked: --help and a bad flag
# answer at once instead of after 10 s of imports.

# Every setting lives in the family's configuration (musickit/families/music_transformer/config.py): Bach chorales
# as "Pitch Duration" REMI+ tokens, 512-token prompted sequences with 64-token AB snippets, the `small` model
# (4 layers x 128) with relative attention and FiLM style conditioning, 4 epochs (30 or more on a GPU), and the
# family's sampling under the chorales' note rules. The flags change it.
DEFAULTS = MusicTransformerConfig.preset("cpu")
# flag -> configuration field, for the flags spelled differently from their field
FLAG_FIELDS = {"preset": "model_preset", "max_files": "max_files_per_source"}
CONFIG_FLAGS = (
    "data",
    "preset",
    "position_encoding",
    "conditioning",
    "loss",
    "label_smoothing",
    "learning_rate",
    "sequence_length",
    "snippet_length",
    "style",
    "form",
    "epochs",
    "batch_size",
    "max_files",
    "num_samples",
)
SAMPLING_FLAGS = (
    "temperature",
    "top_k",
    "top_p",
    "key",
    "scale",
    "repetition_penalty",
    "new_tokens",
    "max_polyphony",
    "max_rest_steps",
    "key_penalty",
    "ascending_pitches",
    "full_length",
    "no_duplicates",
)


def parse_arguments(argv=None):
    sampling = DEFAULTS.sampling
    parser = argparse.ArgumentParser(description="Train a Music Transformer on prompted sections and generate.")
    add_common_flags(
        parser,
        default_output_dir="runs/music_transformer",
        default_epochs=DEFAULTS.epochs,
        default_batch_size=DEFAULTS.batch_size,
    )
    add_sampling_flags(parser)
    add_distribution_flags(parser)
    parser.set_defaults(data=DEFAULTS.data, num_samples=DEFAULTS.num_samples, **sampling_flag_defaults(sampling))
    model = parser.add_argument_group("model")
    model.add_argument("--preset", choices=MODEL_PRESETS, default=DEFAULTS.model_preset)
    model.add_argument("--position-encoding", choices=POSITION_ENCODINGS, default=DEFAULTS.position_encoding)
    model.add_argument("--conditioning", choices=CONDITIONING_MODES, default=DEFAULTS.conditioning)
    model.add_argument("--loss", choices=LOSSES, default=DEFAULTS.loss)
    model.add_argument("--label-smoothing", type=float, default=DEFAULTS.label_smoothing)
    model.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate)
    model.add_argument("--sequence-length", type=int, default=DEFAULTS.sequence_length)
    model.add_argument("--snippet-length", type=int, default=DEFAULTS.snippet_length)
    generation = parser.add_argument_group("generation")
    generation.add_argument(
        "--style",
        default=DEFAULTS.style,
        help=f"style of the generated pieces, a corpus name (default: {DEFAULT_STYLE} if trained on)",
    )
    generation.add_argument("--form", default=DEFAULTS.form, help="sections the prompt shows, e.g. AB or A")
    generation.add_argument("--new-tokens", type=int, default=sampling.new_tokens, help="tokens to generate per piece")
    generation.add_argument(
        "--max-polyphony",
        type=int,
        default=sampling.max_polyphony,
        help="most notes at once (0: no cap; default: the training pieces' usual range)",
    )
    generation.add_argument(
        "--max-rest-steps",
        type=int,
        default=sampling.max_rest_steps,
        help="longest silence in grid steps (-1: no limit)",
    )
    generation.add_argument(
        "--key-penalty",
        type=float,
        default=sampling.key_penalty,
        help="logit taken from out-of-key pitches (0: a hard key mask)",
    )
    generation.add_argument(
        "--any-order",
        dest="ascending_pitches",
        action="store_false",
        default=sampling.ascending_pitches,
        help="let the notes of one position come in any order",
    )
    generation.add_argument(
        "--allow-early-end",
        dest="full_length",
        action="store_false",
        default=sampling.full_length,
        help="let a piece end (EOS) before --new-tokens",
    )
    generation.add_argument(
        "--allow-duplicates",
        dest="no_duplicates",
        action="store_false",
        default=sampling.no_duplicates,
        help="let a piece strike a pitch that is already sounding",
    )
    args = parse_flags(parser, argv)  # the shared checks, and the --smoke default folder
    if not set(args.form) <= set(SECTION_LETTERS) or not args.form:
        raise UsageError(f"--form {args.form!r}: use section letters A to D, e.g. AB")
    check_style(args.style, args.data)
    return args


def check_style(style, data):
    """Refuse a ``--style`` that none of the named corpora in ``data`` gives, before the corpus is parsed.

    A corpus' style is its name; a folder's styles are known only once it is read (the family checks them then).
    """
    from musickit.data.sources.corpora import Music21CorpusSource

    sources = [source.strip() for source in str(data).split(",")]
    corpora = Music21CorpusSource.CORPORA
    if style and all(source in corpora for source in sources) and style not in {corpora[s][2] for s in sources}:
        raise UsageError(f"--style {style!r} is not among the training styles {sorted(sources)}; pick one of them")


def main(argv=None):
    args = parse_arguments(argv)
    # A folder this run may not write (another run to keep, nothing to resume, in use) is refused now.
    RunFolder(args.output_dir).check_start(resume=args.resume, overwrite=args.overwrite)  # before any work
    # The flags the user changed, laid over the preset this run uses; bad values fail here, before any work.
    changes = config_changes_from_flags(args, _flag_view(DEFAULTS), CONFIG_FLAGS)
    config = MusicTransformerConfig.preset(
        "smoke" if args.smoke else "cpu", **{FLAG_FIELDS.get(name, name): value for name, value in changes.items()}
    )
    config = config.replace(sampling=sampling_config_from_flags(args, config.sampling, defaults=DEFAULTS.sampling))

    import keras

    from musickit.families.music_transformer import pipeline
    from musickit.generation.token_sampling import token_processors
    from musickit.utils.compile_cache import run_smoke_eagerly

    configure_distribution(args)  # --distribute: --batch-size becomes per device
    keras.utils.set_random_seed(args.seed)

    # ## Data: REMI+ tokens of each source, prompted with the sections of the piece (a style per source)
    tokenizer = pipeline.make_tokenizer(config)
    token_processors(config.sampling, tokenizer, tokenizer.vocabulary_size)  # bad --key/--scale fail early too
    data = pipeline.load_data(config, seed=args.seed)
    args.style = data.style  # run.json records the style the pieces are generated in
    splits = data.splits
    print(
        f"{len(splits['train'])} training, {len(splits['valid'])} validation, {len(splits['test'])} test pieces "
        f"from {', '.join(data.sources)}; styles {data.styles}"
    )
    if config.sampling.voices_from_corpus:
        config = pipeline.fit_sampling_to_corpus(config, data)
        sampling = config.sampling
        print(f"sampling keeps {sampling.voice_floor} to {sampling.max_polyphony} voices, as the training pieces do")

    # ## Model
    model = pipeline.build_model(config, data)

    # ## Training (the run folder records the flags and the sampling configuration)
    run = RunFolder(args.output_dir)
    resuming = pipeline.start_run(
        run, model, data, config, seed=args.seed, flags=args, resume=args.resume, overwrite=args.overwrite
    )
    # A smoke run's fit is a few steps: on TensorFlow tracing its graphs would be nearly all of its time.
    with run_smoke_eagerly(args.smoke):
        pipeline.train(model, data, config, run, resuming=resuming, seed=args.seed)

        # ## Evaluation: NLL in nats per piece token on held-out pieces (prompt tokens excluded)
        metrics = pipeline.evaluate(model, data, config)

    # ## Generation: the held-out piece's sections as the prompt, in the chosen style
    samples, metrics["generation"] = pipeline.write_run_samples(
        model, data, config, run, seed=args.seed, primer_path=args.primer, soundfont=args.soundfont
    )
    run.write_json(run.metrics_path, metrics)
    run.finish()  # --resume now has nothing to do; rerunning needs --overwrite
    print(f"wrote {len(samples)} samples ({samples[0]['audio']} audio) and metrics to {args.output_dir}")
    return metrics


def _flag_view(config):
    """``config`` seen under the flags' names (``--preset`` is ``model_preset``, ``--max-files`` ...)."""
    return argparse.Namespace(**{name: getattr(config, FLAG_FIELDS.get(name, name)) for name in CONFIG_FLAGS})


if __name__ == "__main__":
    sys.exit(run_main(main))

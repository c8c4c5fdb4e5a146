"""
Title: Ablation studies with Keras Tuner
Description: Run a named ablation (LSTM size, frame head, transformer loss, LR schedule, the hierarchical
  transformer's encoder size, snippet length, staging and contrastive pre-training, and the Transformer-VAE-GAN's
  latent size, free bits, KL schedule and adversarial weight) as one command that survives being killed, and read
  the result as a table and a plot.
Run time: `--smoke` takes seconds per trial. A real `lstm_size` study (9 trials x 10 epochs on the Bach chorales)
  takes hours on a 2-core CPU; on a GPU use `--batch-size 128 --mixed-precision` (not timed on a GPU yet). The
  hierarchical studies' full grids (up to 12-layer encoders and 1024-token snippets, every trial pre-training and
  then training stages A, B1..Bn, C) are GPU work: `--preset base` on one GPU.

List the studies, then run one:

    python recipes/ablation_search.py --list
    python recipes/ablation_search.py --study lstm_size

Each study tunes a few hyperparameters of a musickit hypermodel over a small grid and holds the others at the
model's defaults. The study folder (default `runs/ablation/STUDY`) holds Keras Tuner's project (`grid/`, one
folder per trial with its epoch backups) and, at the end:

    results.csv  results.md (sorted by the objective)  results.png (objective by hyperparameter)

The hierarchical transformer's studies (`encoder_size`, `snippet_length`, `staging`, `contrastive`) read pieces
in known forms assembled from `bach,essen` unless `--data` says otherwise; each trial runs the hierarchical
recipe's pipeline (contrastive pre-training when on, the decoder as a language model, then stages A,B,C or end to
end with as many epochs as the stages have; `--epochs` is per stage) and is scored by the held-out token loss.

The Transformer-VAE-GAN's studies (`vae_latents`: bar latent size x free bits; `vae_regularisers`: KL schedule x
adversarial weight) run the VAE-GAN recipe's three gated stages per trial (`--epochs` are its VAE epochs; about
12 minutes a trial on 2 CPU cores) and score the validation segments' NLL; each trial also logs teacher-forced
accuracy, the accuracy lost when the latents are shuffled, active units and the longest greedy token run.

Killed at any moment, the same command continues (no `--resume` needed; `--overwrite` starts over): finished
trials are not redone and the interrupted one resumes from its last epoch. A trial that fails (NaN loss, out of
memory) is recorded with its reason and the study goes on.
With `--distributed chief` on one machine and `--distributed worker` on others, one oracle hands trials to many
workers (Keras Tuner's gRPC service).
"""

import argparse
import json
import os
import sys

import musickit  # noqa: F401  (first: it quiets TensorFlow's start-up logs)
from musickit.errors import UsageError
from musickit.families.music_transformer.config import MusicTransformerConfig
from musickit.families.piano_roll_lstm.config import PianoRollLSTMConfig
from musickit.runs import RunFolder, add_common_flags, add_sampling_flags, parse_flags, smoke_or
from musickit.runs.entry import run_main
from musickit.utils.atomic import remove_partial_files
from musickit.utils.compile_cache import enable_compilation_cache, run_smoke_eagerly

DEFAULT_SOURCE = "bach"  # musickit.data.sources.DEFAULT_SOURCE

# Keras, Keras Tuner and the models load in import_libraries(), after the flags are checked, so --help and a bad
# flag answer at once instead of after 10 s of imports.
keras = keras_tuner = None


def import_libraries():
    """Import the heavy modules this recipe uses into its namespace (once)."""
    global keras, keras_tuner, distributed, MusicTransformerHyperModel, PianoRollLSTMHyperModel, markdown_table
    global write_results, HIERARCHICAL_TRANSFORMER, MUSIC_TRANSFORMER, PIANO_ROLL_LSTM, VAE_GAN, get_study, study_table
    global make_tuner, FAMILIES
    import keras
    import keras_tuner

    from musickit.tuning import distributed
    from musickit.tuning.hypermodels import MusicTransformerHyperModel, PianoRollLSTMHyperModel
    from musickit.tuning.results import markdown_table, write_results
    from musickit.tuning.studies import (
        HIERARCHICAL_TRANSFORMER,
        MUSIC_TRANSFORMER,
        PIANO_ROLL_LSTM,
        VAE_GAN,
        get_study,
        study_table,
    )
    from musickit.tuning.tuners import make_tuner

    FAMILIES = {
        PIANO_ROLL_LSTM: piano_roll_study,
        MUSIC_TRANSFORMER: transformer_study,
        HIERARCHICAL_TRANSFORMER: hierarchical_study,
        VAE_GAN: vae_gan_study,
    }


# Search.
TUNER = "grid"
EPOCHS = 10  # per trial; 30+ for conclusions you would publish
OBJECTIVE = "nll"  # validation NLL; or a musickit metric such as pitch_class_histogram_distance
MAX_CONSECUTIVE_FAILURES = 3  # then the study stops: something is wrong with all of them
DEFAULT_ORACLE_ADDRESS = "127.0.0.1:8000"
TUNER_NAMES = ("bayesian", "grid", "hyperband", "random")  # musickit.tuning.tuners.TUNERS, named for a fast --help
ROLES = ("chief", "worker")  # musickit.tuning.distributed.ROLES

# Piano-roll LSTM and Music Transformer studies: their families' data and training settings (the cpu
# presets; smoke under --smoke), not a copy of them. A piano-roll study's model is the classic plain roll
# (no onset channel), as the studies made before the families had it.
PIANO_ROLL = PianoRollLSTMConfig.preset("cpu")
TRANSFORMER = MusicTransformerConfig.preset("cpu")  # --preset base on a GPU

# Hierarchical transformer studies: the family's own presets (cpu, or smoke with --smoke), data included.
HIERARCHICAL_DATA = "bach,essen"  # musickit.families.hierarchical_transformer.config.HierarchicalConfig.data


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description="Run a Keras Tuner ablation study.")
    study = parser.add_argument_group("study")
    study.add_argument("--study", help="the study to run (--list shows them)")
    study.add_argument("--list", action="store_true", help="print the studies with their grids and availability")
    study.add_argument("--tuner", choices=TUNER_NAMES, default=TUNER, help="default: %(default)s")
    study.add_argument("--max-trials", type=int, default=None, help="default: the size of the study's grid")
    study.add_argument(
        "--executions-per-trial", type=int, default=1, help="trainings per trial, averaged (default: %(default)s)"
    )
    study.add_argument(
        "--objective",
        default=OBJECTIVE,
        help="nll (validation NLL, the default) or a musickit metric of generated samples, e.g. "
        "pitch_class_histogram_distance or polyphony_gap (piano-roll studies)",
    )
    study.add_argument(
        "--max-consecutive-failures", type=int, default=MAX_CONSECUTIVE_FAILURES, help="default: %(default)s"
    )
    hardware = parser.add_argument_group("hardware")
    hardware.add_argument(
        "--mixed-precision",
        nargs="?",
        const="float16",
        choices=("float16", "bfloat16"),
        help="mixed precision: float16 on GPUs, bfloat16 on TPUs and recent CPUs",
    )
    hardware.add_argument(
        "--jit-compile",
        choices=("auto", "on", "off"),
        default="auto",
        help="XLA compilation (auto: Keras decides per backend)",
    )
    hardware.add_argument("--preset", default=TRANSFORMER.model_preset, help="Music Transformer size for its studies")
    cluster = parser.add_argument_group("distributed (or set KERASTUNER_TUNER_ID/_ORACLE_IP/_ORACLE_PORT)")
    cluster.add_argument("--distributed", choices=ROLES, help="chief runs the oracle, workers train")
    cluster.add_argument(
        "--oracle-address",
        default=DEFAULT_ORACLE_ADDRESS,
        help="HOST:PORT the chief listens on, workers connect to (default: %(default)s)",
    )
    cluster.add_argument("--worker-id", default=None, help="unique per worker (default: the host name)")
    add_common_flags(parser, default_output_dir=None, default_epochs=None, default_batch_size=None)
    parser.set_defaults(musickit_default_output_dir=None)
    for action in parser._actions:  # this recipe's own defaults, said in the help
        if action.dest == "output_dir":
            action.help = "study folder (default: runs/ablation/STUDY; runs/ablation-smoke/STUDY with --smoke)"
        elif action.dest in ("epochs", "batch_size"):
            action.help = (
                f"{action.dest.replace('_', ' ')} per trial (default: the study family's own; 1 epoch with --smoke)"
            )
        elif action.dest == "resume":
            action.help = "accepted for symmetry: a study always continues where it stopped"
        elif action.dest == "overwrite":
            action.help = "delete this study's own files (a folder that is not a study is never touched) and start over"
    add_sampling_flags(parser)
    # No --data means each family's own default (resolved in main: DEFAULT_SOURCE, or HIERARCHICAL_DATA).
    parser.set_defaults(data=None)
    args = parse_flags(parser, argv, smoke_sets=())
    if not args.list and not args.study:
        raise UsageError("pass --study NAME (or --list to see the studies)")
    for flag in ("epochs", "batch_size", "max_trials", "executions_per_trial", "max_consecutive_failures"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")
    return args


def study_settings(args, study):
    """What must match for a restarted command to continue the same study."""
    return {
        "study": study.name,
        "tuner": args.tuner,
        "data": args.data,
        "smoke": args.smoke,
        "seed": args.seed,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "objective": args.objective,
        "executions_per_trial": args.executions_per_trial,
        "preset": args.preset,
        "mixed_precision": args.mixed_precision,
    }


STUDY_FILES = ("study.json", "results.csv", "results.md", "results.png")


def prepare_folder(folder, settings, overwrite, role):
    """Create and lock the study folder; refuse to continue a study run with other settings.

    ``overwrite`` deletes only what a study writes (``study.json``, ``results.*`` and the tuners' project
    folders), and only in a folder that holds a study; a folder with other files is never touched.
    """
    path = os.path.join(folder, "study.json")
    is_study = check_study_folder(folder)
    os.makedirs(folder, exist_ok=True)
    if role != "worker":  # workers share the chief's folder (on one machine) by design
        RunFolder(folder).lock()  # a second study in this folder is refused in one line
    remove_partial_files(folder)
    if overwrite and role != "worker" and is_study:
        remove_study_files(folder)
        is_study = False
    if is_study:
        try:
            with open(path) as handle:
                previous = json.load(handle)
        except (OSError, ValueError) as error:
            raise UsageError(f"{path} is damaged ({error}); pass --overwrite to start the study over") from None
        changed = sorted(name for name in settings if previous.get(name) != settings[name])
        if changed:
            raise UsageError(
                f"{folder} holds a study run with other {', '.join(changed)}; rerun the same command "
                "to continue it, add --overwrite to start over, or pass another --output-dir"
            )
        return
    RunFolder(folder).write_json(path, settings)


def check_study_folder(folder):
    """Refuse a file, or a folder with files but no study, in one line; whether ``folder`` holds a study."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"--output-dir {folder} is a file; pass a folder")
    is_study = os.path.isfile(os.path.join(folder, "study.json"))
    if os.path.isdir(folder) and not is_study and any(name != ".musickit.lock" for name in os.listdir(folder)):
        raise UsageError(
            f"--output-dir {folder} is not empty and holds no study (no study.json); pass a new or empty folder"
        )
    return is_study


def study_folder(args):
    """``--output-dir``, or ``runs/ablation/STUDY`` (``runs/ablation-smoke/STUDY`` with ``--smoke``)."""
    return args.output_dir or os.path.join("runs", "ablation-smoke" if args.smoke else "ablation", args.study)


def remove_study_files(folder):
    """Delete a study's own files: ``study.json``, ``results.*`` and Keras Tuner's project folders."""
    import shutil

    for name in STUDY_FILES:
        if os.path.isfile(os.path.join(folder, name)):
            os.remove(os.path.join(folder, name))
    for tuner in TUNER_NAMES:
        project = os.path.join(folder, tuner)
        if os.path.isfile(os.path.join(project, "oracle.json")) or os.path.isfile(os.path.join(project, "tuner0.json")):
            shutil.rmtree(project)


# ## Data and hypermodels, per model family


def piano_roll_study(args, load_data):
    from musickit.data import load_dataset
    from musickit.representations.piano_roll import PianoRoll

    representation = PianoRoll(steps_per_quarter=PIANO_ROLL.steps_per_quarter)
    smoke_defaults = {"lstm_units": 8, "num_layers": 1, "dense_units": 8, "head_hidden_units": 8}
    hypermodel = PianoRollLSTMHyperModel(
        window_length=smoke_or(args, 16, PIANO_ROLL.window),
        transpose=PIANO_ROLL.transpose,
        batch_size=args.batch_size or smoke_or(args, 4, PIANO_ROLL.batch_size),
        steps_per_epoch=smoke_or(args, 2, None),
        validation_steps=smoke_or(args, 1, None),
        jit_compile={"auto": "auto", "on": True, "off": False}[args.jit_compile],
        seed=args.seed,
        defaults=smoke_or(args, smoke_defaults, None),
    )
    if not load_data:
        return hypermodel, (), {}, None
    dataset = load_dataset(args.data, representation, seed=args.seed, max_files=smoke_or(args, 8, args.max_files))
    if not len(dataset.valid):
        raise UsageError(f"--data {args.data}: too few pieces to hold some out for validation; add more files")
    print(f"{len(dataset.train)} training and {len(dataset.valid)} validation pieces from {args.data}")
    extra_callbacks = []
    if args.objective != OBJECTIVE:
        extra_callbacks.append(sample_metrics_callback(args, dataset, representation))
    return hypermodel, (list(dataset.train),), {"validation_data": list(dataset.valid)}, extra_callbacks


def sample_metrics_callback(args, dataset, representation):
    """Score samples of every trial's model with a musickit metric, logged as ``val_<metric>`` (the objective)."""
    from musickit.families.piano_roll_lstm.generation import DEFAULT_QPM, primer_from_roll, sample_rolls
    from musickit.metrics.callbacks import MusicMetricsCallback
    from musickit.runs.sampling_flags import sampling_config_from_flags

    config = sampling_config_from_flags(args)
    primer = primer_from_roll(dataset.valid[0], PIANO_ROLL.steps_per_quarter)
    bars, count = smoke_or(args, 1, 4), smoke_or(args, 2, 8)

    def generate(model):
        rolls = sample_rolls(model, representation, primer, bars, count, args.seed, config)
        return [representation.decode(roll[len(primer) :], qpm=DEFAULT_QPM) for roll in rolls]

    references = [representation.decode(roll, qpm=DEFAULT_QPM) for roll in list(dataset.train)[:50]]
    metric = args.objective.removesuffix("_gap")
    return MusicMetricsCallback(generate, metrics=(metric,), every_n_epochs=1, reference_scores=references)


def transformer_study(args, load_data):
    from musickit.families.music_transformer import pipeline as transformer_family

    if args.objective != OBJECTIVE:
        raise UsageError(
            "Music Transformer studies use --objective nll; sample metrics as objectives are "
            "available for the piano-roll studies"
        )
    config = MusicTransformerConfig.preset("smoke" if args.smoke else "cpu").replace(data=args.data)
    if args.max_files and not args.smoke:
        config = config.replace(max_files_per_source=args.max_files)
    if load_data:  # the family's own data step: sources, splits, styles, prompted sequences
        data = transformer_family.load_data(config, seed=args.seed)
        tokenizer, styles, examples = (
            data.tokenizer,
            data.styles,
            {"train": data.train_examples, "valid": data.valid_examples},
        )
    else:  # the chief loads no data: the sources stand in for the styles, it only needs the search space
        tokenizer = transformer_family.make_tokenizer(config)
        styles = sorted(source.strip() for source in args.data.split(","))
    hypermodel = MusicTransformerHyperModel(
        vocabulary_size=tokenizer.vocabulary_size,
        preset=smoke_or(args, config.model_preset, args.preset),
        condition_sizes={"style": len(styles)},  # an unknown style is id -1: no style conditioning
        padding_id=tokenizer.pad_id,
        end_id=tokenizer.eos_id,
        epochs=args.epochs or smoke_or(args, 1, EPOCHS),
        train_size=len(examples["train"]["token_ids"]) if load_data else 1,
        batch_size=args.batch_size or smoke_or(args, 4, config.batch_size),
        steps_per_epoch=smoke_or(args, 2, None),
        validation_steps=smoke_or(args, 1, None),
        jit_compile={"auto": "auto", "on": True, "off": False}[args.jit_compile],
        seed=args.seed,
    )
    if not load_data:
        return hypermodel, (), {}, None
    print(
        f"{len(examples['train']['token_ids'])} training and {len(examples['valid']['token_ids'])} validation "
        f"sequences from {args.data}"
    )
    return hypermodel, (examples["train"],), {"validation_data": examples["valid"]}, []


def check_staged_options(args, family):
    """What the studies of a family trained in stages (hierarchical, VAE-GAN) cannot do, refused before the
    study folder is made."""
    name = family.replace("_", " ").replace("vae gan", "VAE-GAN")
    if args.tuner == "hyperband":
        raise UsageError(
            f"the {name} studies train in stages, each its own fit; use --tuner grid, random "
            "or bayesian (Hyperband's partial trainings do not map onto stages)"
        )
    if args.objective != OBJECTIVE:
        raise UsageError(f"{name} studies use --objective nll (the held-out token loss)")


def hierarchical_study(args, load_data):
    from musickit.families.hierarchical_transformer import HierarchicalConfig
    from musickit.families.hierarchical_transformer.pipeline import build_corpus
    from musickit.representations.remi import REMITokenizer
    from musickit.tuning.hierarchical_hypermodel import HierarchicalTransformerHyperModel

    config = HierarchicalConfig.preset(
        "smoke" if args.smoke else "cpu",
        data=args.data,
        max_files=args.max_files,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    if not args.smoke:
        config = config.replace(
            model_preset=args.preset, jit_compile={"auto": "auto", "on": True, "off": False}[args.jit_compile]
        )
    tokenizer, corpus = REMITokenizer(), None
    if load_data:
        tokenizer, corpus = build_corpus(config, tokenizer)
        print(
            f"{len(corpus.train)} training and {len(corpus.valid)} held-out pieces in known forms; "
            f"styles {corpus.styles}"
        )
    # The chief loads no data: the sources stand in for the styles, it only needs the search space.
    styles = corpus.styles if corpus else sorted(source.strip() for source in args.data.split(","))
    # Smoke: the preset's one-block decoder (stages A, B1, C when staged), and unless a study tunes them, end-to-end
    # training without contrastive pre-training: the fewest fits (each one a compile) per trial.
    smoke_defaults = {
        "num_layers": config.num_layers,
        "snippet_length": config.snippet_length,
        "contrastive_pretraining": False,
        "training": "end_to_end",
    }
    hypermodel = HierarchicalTransformerHyperModel(
        tokenizer,
        styles,
        config=config,
        validation_steps=smoke_or(args, 1, None),
        # One step per stage in a smoke trial, the language-model pre-training's included.
        steps_per_epoch=smoke_or(args, 1, None),
        defaults=smoke_or(args, smoke_defaults, None),
    )
    if not load_data:
        return hypermodel, (), {}, None
    return hypermodel, (corpus.train,), {"validation_data": corpus.valid}, []


def vae_gan_study(args, load_data):
    from musickit.families.vae_gan import VaeGanConfig
    from musickit.families.vae_gan import pipeline as vae_gan_family
    from musickit.families.vae_gan.config import MODEL_PRESETS
    from musickit.tuning.vae_gan_hypermodel import VaeGanHyperModel

    changes = {"data": args.data, "max_files_per_source": args.max_files, "batch_size": args.batch_size}
    changes["vae_epochs"] = args.epochs  # a trial is the recipe's three stages; --epochs are its VAE epochs
    if not args.smoke:
        if args.preset not in MODEL_PRESETS:
            raise UsageError(f"--preset {args.preset}: the VAE-GAN studies take {', '.join(MODEL_PRESETS)}")
        changes["model_preset"] = args.preset
    config = VaeGanConfig.preset(
        "smoke" if args.smoke else "cpu", **{name: value for name, value in changes.items() if value}
    )
    data = vae_gan_family.load_data(config, seed=args.seed) if load_data else None
    train_segments = len(data.segments["train"]) if data else None
    hypermodel = VaeGanHyperModel(config, train_segments=train_segments)
    if not load_data:
        return hypermodel, (), {}, None
    print(f"{train_segments} training and {len(data.segments['valid'])} validation segments from {args.data}")
    return hypermodel, (data,), {}, []


FAMILY_DATA = {"hierarchical_transformer": HIERARCHICAL_DATA}  # default --data per family, else DEFAULT_SOURCE


def objective_for(name, family=None):
    if name == OBJECTIVE and family == HIERARCHICAL_TRANSFORMER:
        # The staged trainer's loss is the plain token cross-entropy weighted to piece tokens: the NLL in nats.
        return keras_tuner.Objective("val_loss", direction="min")
    if name == OBJECTIVE:
        return keras_tuner.Objective("val_nll", direction="min")
    from musickit.metrics.callbacks import tuner_objective

    try:
        return tuner_objective(name)
    except ValueError as error:
        raise UsageError(f"--objective {name}: {error}") from None


def main(argv=None):
    args = parse_arguments(argv)
    if not args.list:
        check_study_folder(study_folder(args))  # a folder that is not a study is refused before the imports
    import_libraries()
    enable_compilation_cache()  # JAX: a trial of an architecture seen before, or a rerun, reuses its programs
    if args.list:
        print(study_table())
        return None
    study = get_study(args.study)  # unknown or not-yet-available studies stop here, in one line
    args.data = args.data or FAMILY_DATA.get(study.family, DEFAULT_SOURCE)
    if study.family in (HIERARCHICAL_TRANSFORMER, VAE_GAN):
        check_staged_options(args, study.family)
    if args.distributed:
        distributed.configure(args.distributed, args.oracle_address, args.worker_id)
    role = distributed.role_from_environment()
    if role:
        distributed.check_grpc()
    objective = objective_for(args.objective, study.family)
    if args.mixed_precision:
        # Variables stay float32; with float16, compile() wraps the optimizer in a LossScaleOptimizer.
        keras.mixed_precision.set_global_policy(f"mixed_{args.mixed_precision}")
    keras.utils.set_random_seed(args.seed)

    # ## Study folder: Keras Tuner's project lives in FOLDER/TUNER and is reloaded when it exists
    folder = study_folder(args)
    prepare_folder(folder, study_settings(args, study), args.overwrite, role)
    epochs = args.epochs or smoke_or(args, 1, EPOCHS)  # --smoke trains one epoch unless told otherwise
    space = study.hyperparameters(smoke=args.smoke)
    tuned = list(study.values(args.smoke))
    max_trials = args.max_trials or study.size(args.smoke)

    # ## Data and hypermodel (the chief only hands out trials: it needs the space, not the data)
    hypermodel, fit_args, fit_kwargs, callbacks = FAMILIES[study.family](args, load_data=role != "chief")
    tuner = make_tuner(
        args.tuner,
        hypermodel,
        objective,
        directory=folder,
        project_name=args.tuner,
        max_trials=max_trials,
        epochs=epochs,
        hyperparameters=space,
        executions_per_trial=args.executions_per_trial,
        max_consecutive_failed_trials=args.max_consecutive_failures,
        seed=args.seed,
    )
    print(
        f"study {study.name}: {study.description}; {args.tuner} search over {tuned}, "
        f"{max_trials} trials, objective {objective.name} ({objective.direction})"
    )

    # ## Search
    stopped = None
    try:
        # A smoke trial's fits are a few steps each: on TensorFlow tracing their graphs is nearly all the time.
        with run_smoke_eagerly(args.smoke):
            tuner.search(
                *fit_args,
                epochs=epochs,
                callbacks=callbacks or [],
                verbose=2 if os.environ.get("CI") else 1,
                **fit_kwargs,
            )
    except RuntimeError as error:
        if "consecutive failures" not in str(error):
            raise
        stopped = str(error).splitlines()[0]

    # ## Results (the chief or a single machine has every trial; a worker only its own)
    if role == "worker":
        print(f"worker {os.environ['KERASTUNER_TUNER_ID']} finished; the chief writes the results")
        return None
    rows, paths = write_results(tuner.oracle, folder, tuned, title=f"{study.name}: {study.description}")
    print(markdown_table(rows, objective.name, tuned))
    print(f"wrote {', '.join(paths.values())}")
    if stopped:
        raise UsageError(f"{stopped}; the study stopped (see {paths['csv']} for each trial's reason)")
    return rows


if __name__ == "__main__":
    sys.exit(run_main(main))

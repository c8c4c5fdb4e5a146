"""DPO alignment of a Music Transformer run: source run -> pairs -> reference values -> fit -> aligned run.

What ``recipes/dpo_alignment.py`` and ``benchmarks/dpo.py`` call, step by
step. The source run (a finished ``recipes/music_transformer.py`` run
folder) gives the policy, the frozen reference (the same ``model.keras``
loaded twice), the tokenizer, the sampling configuration and, from its
``run.json``, the data settings: :func:`load_source_data` reads the very
same split, so the prompts are openings of held-out pieces and the
near-duplicate check sees the training pieces. The aligned run folder is a
``music_transformer`` run too: ``musickit generate --run`` samples from it.

Example (what the recipe does)::

    source = load_source("runs/music_transformer")
    data, config = load_source_data(source)
    pairs, summary = scored_pairs(source, data, config, AlignmentConfig.preset("cpu"), seed=0)
    model, history = align(source, pairs, AlignmentConfig.preset("cpu"), run=RunFolder("runs/dpo_alignment"))
"""

import dataclasses
import os

import numpy as np

from musickit.errors import UsageError
from musickit.families.music_transformer.config import MODEL_NAME, MusicTransformerConfig
from musickit.families.music_transformer.generation import generate_pieces, run_sampling
from musickit.families.music_transformer.preference_pairs import build_pairs, opening_prompts
from musickit.metrics.diversity import distinct_ngram_ratio, score_tokens
from musickit.metrics.preference_score import ScorerSettings, score_piece
from musickit.representations.conditions import class_id
from musickit.runs.folder import RunFolder
from musickit.runs.samples import decode_token_piece

TRAIN_COMMAND = "python recipes/music_transformer.py"


@dataclasses.dataclass
class SourceRun:
    """A loaded Music Transformer run: its folder, ``run.json``, model, tokenizer and sampling configuration."""

    path: str
    info: dict
    model: object
    tokenizer: object
    sampling: object


def load_source(run_dir):
    """Load a Music Transformer run to align; a missing run is one line naming the command that trains one."""
    run = RunFolder(run_dir)
    if not os.path.isfile(run.model_path):
        raise UsageError(f"no trained Music Transformer run in {run_dir}; train one first with: {TRAIN_COMMAND}")
    info, model, tokenizer = run.load(MODEL_NAME)
    return SourceRun(run_dir, info, model, tokenizer, run_sampling(run))


def load_source_model(source):
    """A second, independent copy of the source run's model (the frozen reference or a fresh policy)."""
    return RunFolder(source.path).load(MODEL_NAME)[1]


def load_source_data(source):
    """The source run's data (the same pieces and split, from ``run.json``) and a config matching the run."""
    from musickit.families.music_transformer import pipeline

    info = source.info
    config = MusicTransformerConfig(
        data=info.get("data", "bach"),
        max_files_per_source=info.get("max_files", MusicTransformerConfig.max_files_per_source),
        form=info.get("form", "AB"),
        snippet_length=info.get("snippet_length", MusicTransformerConfig.snippet_length),
        sequence_length=info.get("sequence_length", MusicTransformerConfig.sequence_length),
        sampling=source.sampling,
    )
    data = pipeline.load_data(config, seed=int(info.get("seed", 0)))
    return data, config


def make_smoke_source(folder, seed=0):
    """Write a tiny Music Transformer run (the family's ``smoke`` preset, untrained) to ``folder``; its path.

    ``--smoke`` aligns this instead of a real run: the alignment steps are
    what it checks, and an untrained model samples varied enough pairs.
    """
    import keras

    from musickit.families.music_transformer import pipeline

    keras.utils.set_random_seed(seed)
    config = MusicTransformerConfig.preset("smoke")
    data = pipeline.load_data(config, seed=seed)
    model = pipeline.build_model(config, data, compile=False)
    run = RunFolder(folder)
    pipeline.start_run(run, model, data, config, seed=seed, overwrite=True)
    run.save_model(model, data.tokenizer)
    run.finish()
    return folder


def candidate_sampling(source, alignment):
    """The sampling of ``alignment``'s candidates and before/after samples: ``new_tokens`` tokens under the
    run's ``sampling.json`` (``candidate_sampling="run"``) or under its representation rules alone (``"model"``,
    :meth:`~musickit.generation.sampling_config.SamplingConfig.without_steering`)."""
    sampling = source.sampling.replace(new_tokens=alignment.new_tokens)
    return sampling if alignment.candidate_sampling == "run" else sampling.without_steering()


def scored_pairs(source, data, config, alignment, seed=0, prompts=None, candidates=None):
    """Heuristic pairs for ``alignment`` from held-out openings (or ``prompts``); returns ``(pairs, summary)``.

    ``candidates`` (a list) receives every sampled continuation (see :func:`build_pairs`)."""
    sampling = candidate_sampling(source, alignment)
    scorer = ScorerSettings().fitted_to_corpus([decode_token_piece(data.tokenizer, p) for p in data.splits["train"]])
    prompts = prompts if prompts is not None else opening_prompts(data, config, alignment.num_prompts)
    return build_pairs(
        source.model,
        source.tokenizer,
        prompts,
        sampling,
        num_candidates=alignment.num_candidates,
        scorer=scorer,
        min_score_gap=alignment.min_score_gap,
        training_pieces=list(data.splits["train"]),
        max_training_overlap=alignment.max_training_overlap,
        style=source.info.get("default_style"),
        styles=source.info.get("styles", []),
        seed=seed,
        candidates=candidates,
        pairs_per_prompt=alignment.pairs_per_prompt,
    )


def pair_examples(pairs, source, reference=None):
    """:func:`~musickit.training.preference.preference_examples` of ``pairs`` with ``reference``'s values
    (the source model's by default); ``None`` for no pairs."""
    from musickit.training.preference import add_reference_log_probabilities, preference_examples

    if not pairs:
        return None
    reference = source.model if reference is None else reference
    styles = source.info.get("styles", [])
    conditions = None
    if "style" in source.model.condition_sizes:
        conditions = {"style": [class_id(pair.style, styles) if pair.style in styles else -1 for pair in pairs]}
    triples = [(pair.prompt, pair.chosen, pair.rejected) for pair in pairs]
    examples = preference_examples(triples, source.tokenizer.pad_id, conditions=conditions)
    if examples["chosen_ids"].shape[1] > source.model.max_sequence_length:
        raise UsageError(
            f"pairs of {examples['chosen_ids'].shape[1]} tokens exceed the model's {source.model.max_sequence_length}"
        )
    return add_reference_log_probabilities(reference, examples)


def split_pairs(pairs, valid_fraction):
    """``(train, valid)``: the last ``valid_fraction`` of the pairs held out (none when there are fewer than 4).

    The cut moves back to where a prompt's pairs begin: pairs of one prompt
    share candidates, so held-out pairs of a training prompt would be half seen
    (when every pair has one prompt, the cut stays where it is).
    """
    held = int(round(len(pairs) * valid_fraction)) if len(pairs) >= 4 else 0
    if not held:
        return list(pairs), []
    cut = len(pairs) - held
    while 0 < cut and pairs[cut - 1].prompt == pairs[cut].prompt:
        cut -= 1
    cut = cut or len(pairs) - held
    return list(pairs[:cut]), list(pairs[cut:])


def align(source, pairs, alignment, run=None, resume=False, verbose=0):
    """DPO-train a fresh copy of the source model on ``pairs``; return ``(policy, history, valid_examples)``.

    The reference is the source model as loaded (frozen: never trained);
    with ``run`` (a started RunFolder) training backs up there and ``resume``
    continues an interrupted alignment.
    """
    from musickit.training.preference import PreferenceModel, fit_preferences, preference_callbacks

    if not pairs:
        raise UsageError("no preference pairs survived the filters; lower --min-score-gap or raise --num-prompts")
    train_pairs, valid_pairs = split_pairs(pairs, alignment.valid_fraction)
    train_examples = pair_examples(train_pairs, source)
    valid_examples = pair_examples(valid_pairs, source)
    policy = load_source_model(source)
    model = PreferenceModel(policy, beta=alignment.beta, nll_weight=alignment.nll_weight)
    callbacks = preference_callbacks(run, resume=resume) if run is not None else []
    history = fit_preferences(
        model,
        train_examples,
        valid_examples,
        epochs=alignment.epochs,
        batch_size=alignment.batch_size,
        learning_rate=alignment.learning_rate,
        callbacks=callbacks,
        verbose=verbose,
    )
    return policy, history, valid_examples


def held_out_pair_accuracy(policy, examples, beta):
    """Share of ``examples`` (with reference values) whose chosen continuation the policy's implicit reward prefers."""
    from musickit.losses.preference import pair_accuracy
    from musickit.training.preference import continuation_log_probabilities

    chosen = continuation_log_probabilities(policy, examples, "chosen")
    rejected = continuation_log_probabilities(policy, examples, "rejected")
    return float(pair_accuracy(chosen, rejected, examples["reference_chosen"], examples["reference_rejected"], beta))


def held_out_nll(model, data, config, rows=32, batch_size=8):
    """NLL in nats per piece token of ``model`` on the first ``rows`` prompted sequences of the held-out pieces."""
    from keras import ops

    from musickit.generation.prompts import prompted_examples
    from musickit.losses.preference import sequence_log_probabilities

    examples = prompted_examples(
        data.held_out, data.tokenizer, config.sequence_length, config.snippet_length, config.form, data.styles
    )
    total, tokens = 0.0, 0.0
    for start in range(0, min(rows, len(examples["token_ids"])), batch_size):
        stop = min(start + batch_size, rows)
        inputs = {"token_ids": examples["token_ids"][start:stop]}
        if "style" in model.condition_sizes:
            inputs["style"] = examples["style"][start:stop]
        logits = model(inputs if len(inputs) > 1 else inputs["token_ids"], training=False)
        weights = examples["sample_weight"][start:stop]
        summed = sequence_log_probabilities(logits, examples["targets"][start:stop], weights)
        total -= float(ops.convert_to_numpy(ops.sum(summed)))  # on torch a model's output carries gradients
        tokens += float(weights.sum())
    return total / max(tokens, 1.0)


def sample_continuations(model, source, prompts, sampling, num_samples=1, seed=0):
    """``num_samples`` continuations of each prompt under ``sampling`` (one list per prompt).

    Prompt ``i`` is sampled with seed ``seed + i``, as :func:`scored_pairs` does: with the same
    ``num_samples`` and :func:`candidate_sampling`, the reference gives back the very candidates the pairs
    were made of."""
    return [
        generate_pieces(
            model,
            source.tokenizer,
            prompt,
            num_samples,
            sampling,
            seed=seed + number,
            style=source.info.get("default_style"),
            styles=source.info.get("styles", []),
        )
        for number, prompt in enumerate(prompts)
    ]


def score_continuations(pieces, tokenizer, scorer=None):
    """The scorer's ``as_dict()`` of each piece of token ids."""
    return [
        score_piece(decode_token_piece(tokenizer, piece), scorer, [int(t) for t in piece], tokenizer.grammar).as_dict()
        for piece in pieces
    ]


def win_rate(after_scores, before_scores):
    """Share of prompts whose aligned continuation outscores the reference's (a tie counts a half)."""
    if not after_scores:
        return float("nan")
    wins = [
        1.0 if a["total"] > b["total"] else 0.5 if a["total"] == b["total"] else 0.0
        for a, b in zip(after_scores, before_scores)
    ]
    return float(np.mean(wins))


def mean_components(scores):
    """The mean of each scorer component (and the total) over ``scores``."""
    names = sorted({name for score in scores for name in score})
    return {name: float(np.mean([score.get(name, 0.0) for score in scores])) for name in names} if scores else {}


def distinct4(pieces, tokenizer):
    """Distinct-4 of the pieces' note tokens (:func:`~musickit.metrics.diversity.distinct_ngram_ratio`)."""
    return distinct_ngram_ratio([score_tokens(decode_token_piece(tokenizer, piece)) for piece in pieces], 4)


def kl_per_token(policy, reference, source, prompts, pieces, batch_size=8):
    """KL(policy || reference) in nats per continuation token, exact over the vocabulary, on ``pieces``.

    ``pieces[i]`` is a list of continuations of ``prompts[i]`` (the policy's
    samples); at each continuation position the two models' next-token
    distributions (raw: no temperature or sampling rules) are compared.
    """
    from keras import ops

    from musickit.training.preference import preference_examples

    triples = [(prompt, piece, piece) for prompt, group in zip(prompts, pieces) for piece in group]
    styles = source.info.get("styles", [])
    style = source.info.get("default_style")
    conditions = {"style": [class_id(style, styles)] * len(triples)} if "style" in policy.condition_sizes else None
    examples = preference_examples(triples, source.tokenizer.pad_id, conditions=conditions)
    total, tokens = 0.0, 0.0
    for start in range(0, len(triples), batch_size):
        token_ids = examples["chosen_ids"][start : start + batch_size]
        inputs = {"token_ids": token_ids, "style": conditions and examples["style"][start : start + batch_size]}
        inputs = inputs if conditions else token_ids
        policy_log = ops.log_softmax(ops.cast(policy(inputs, training=False), "float32"), axis=-1)
        reference_log = ops.log_softmax(ops.cast(reference(inputs, training=False), "float32"), axis=-1)
        per_position = ops.sum(ops.exp(policy_log) * (policy_log - reference_log), axis=-1)
        weights = examples["chosen_weights"][start : start + batch_size]
        # To NumPy first: on torch the models' outputs carry gradients, which NumPy cannot take.
        total += float((ops.convert_to_numpy(per_position) * weights).sum())
        tokens += float(weights.sum())
    return total / max(tokens, 1.0)

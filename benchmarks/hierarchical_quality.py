"""Form and style of a hierarchical run's pieces: form contrast with its confidence interval, style recognition.

Writes ``--pieces`` pieces of one ``--style`` from a finished run of
``recipes/hierarchical_transformer.py`` (its ``snippets`` come from the run's
held-out pieces, one piece per sample in turn; its sampling is the run's
``sampling.json``), saves them as MIDI in ``--output`` (for
``benchmarks/music_quality.py --samples``), and judges them with
:func:`musickit.metrics.generated_forms.judge_generated_pieces`:

* form contrast: same-label minus different-label section similarity, mean and
  95% confidence interval over pieces;
* style recognition: the share of pieces the run's style classifier
  (``style_classifier.keras``; trained here as the recipe does when the run
  has none) calls ``--style``, beside that classifier's own held-out accuracy;
* texture-matched style recognition: a second classifier, trained and
  held out like the run's but on the top voice of every piece (the chorales'
  soprano against the folk tunes, so the number of voices cannot give the
  style away), judges the top voice of the generated pieces;
* note match: the share of a later section's notes (pitch, onset within the
  section) that an earlier section has, same-label and different-label pairs
  (1.0 for a copied reprise);
* snippet ablation: held-out NLL per token with each piece's own snippets and
  with those of another held-out piece of the same style (does the decoder
  read its snippets?).

Usage::

    python benchmarks/hierarchical_quality.py --run runs/hierarchical_transformer --style bach --output samples/bach
    python benchmarks/hierarchical_quality.py --run runs/hierarchical_transformer --style essen --json
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="a finished hierarchical_transformer run folder")
    parser.add_argument("--style", required=True, help="the style every piece is asked for")
    parser.add_argument("--pieces", type=int, default=16, help="pieces to write (default: %(default)s)")
    parser.add_argument("--form", default="ABA", help="the form of every piece (default: %(default)s)")
    parser.add_argument("--reprise", choices=("copy", "none", "recall"), default=None, help="default: the run's")
    parser.add_argument("--legacy-sampling", action="store_true", help="temperature 0.9, top-k 20, grammar only")
    parser.add_argument("--output", default=None, help="folder for the MIDI files (default: none written)")
    parser.add_argument("--preset", choices=("cpu", "smoke"), default="cpu", help="the run's preset (default: cpu)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    args = parser.parse_args(argv)
    if args.pieces < 1:
        parser.error("--pieces must be at least 1")
    return args


def shuffled_snippets(split):
    """``split`` with each piece's section snippets taken from the next held-out piece of its style."""
    from musickit.data.dataset import EncodedSplit

    by_style = {}
    for index, item in enumerate(split.metadata):
        by_style.setdefault(item.get("style"), []).append(index)
    metadata = [dict(item) for item in split.metadata]
    for indices in by_style.values():
        for position, index in enumerate(indices):
            metadata[index]["sections"] = split.metadata[indices[(position + 1) % len(indices)]]["sections"]
    return EncodedSplit(list(split), metadata)


def top_voice(score):
    """``score`` with only its highest note at each onset (a chorale's soprano line)."""
    import dataclasses

    highest = {}
    for note in score.notes:
        if note.start not in highest or note.pitch > highest[note.start].pitch:
            highest[note.start] = note
    return dataclasses.replace(score, notes=[highest[start] for start in sorted(highest)])


def top_voice_split(split, tokenizer):
    """An :class:`EncodedSplit` of the top voices of ``split``'s pieces, sections and styles kept."""
    import dataclasses

    from musickit.data.sections import encode_sectioned

    scores = []
    for ids, item in zip(split, split.metadata):
        score = top_voice(tokenizer.decode([int(token) for token in ids]))
        scores.append(dataclasses.replace(score, metadata={"style": item.get("style"), "form": item.get("form")}))
    return encode_sectioned(scores, tokenizer)


def note_match(score):
    """``(same, different)``: over pairs of sections, the share of the later section's notes (pitch, onset from
    its section's start) that the earlier one has, for same-label pairs and for different-label pairs; ``None``
    for a kind without pairs. 1.0 for a copied reprise; how far the model brings a section back note for note.

    >>> from musickit.music.score import Marker, Note, Score
    >>> notes = [Note(60, 90, 0.0, 1.0), Note(62, 90, 2.0, 3.0), Note(60, 90, 4.0, 5.0), Note(64, 90, 4.5, 5.0)]
    >>> note_match(Score(notes=notes, markers=[Marker(0.0, "A"), Marker(2.0, "B"), Marker(4.0, "A")]))
    (0.5, 0.0)
    """
    markers = sorted(score.markers, key=lambda marker: marker.time)
    bounds = [marker.time for marker in markers[1:]] + [float("inf")]
    found = []
    for marker, end in zip(markers, bounds):
        inside = [note for note in score.notes if marker.time - 1e-9 <= note.start < end - 1e-9]
        found.append((marker.text, {(note.pitch, round(note.start - marker.time, 3)) for note in inside}))
    shares = {True: [], False: []}
    for index, (label, earlier) in enumerate(found):
        for other, later in found[index + 1 :]:
            if later:
                shares[label == other].append(len(earlier & later) / len(later))
    return tuple(sum(values) / len(values) if values else None for values in (shares[True], shares[False]))


def main(argv=None):
    args = parse_arguments(argv)
    import keras

    from musickit.families.hierarchical_transformer import pipeline
    from musickit.families.hierarchical_transformer.config import (
        FAMILY_SAMPLING,
        LEGACY_SAMPLING,
        MODEL_NAME,
        HierarchicalConfig,
    )
    from musickit.families.hierarchical_transformer.generation import write_pieces
    from musickit.generation.sampling_config import SamplingConfig
    from musickit.metrics.generated_forms import judge_generated_pieces
    from musickit.metrics.likelihood import dataset_token_nll
    from musickit.music.midi_io import write_midi
    from musickit.runs.folder import RunFolder

    run = RunFolder(args.run)
    info = run.read_info()
    flags = info.get("flags") or {}
    _, model, tokenizer = run.load(MODEL_NAME)
    styles = info["styles"]
    if args.style not in styles:
        print(f"hierarchical_quality.py: error: --style {args.style!r} is not among {styles}", file=sys.stderr)
        return 2
    # A run stopped after training (the recipe's `train`) has no sampling.json yet: the family's sampling.
    saved = SamplingConfig.load(run, base=FAMILY_SAMPLING) or FAMILY_SAMPLING
    sampling = LEGACY_SAMPLING if args.legacy_sampling else saved
    config = HierarchicalConfig.preset(
        args.preset,
        data=info["data"],
        max_files=flags.get("max_files"),
        seed=info.get("seed", 0),
    )
    _, corpus = pipeline.build_corpus(config, tokenizer)
    config = config.replace(
        form=args.form.upper(),
        num_samples=args.pieces,
        sampling=sampling,
        reprise=args.reprise or flags.get("reprise") or config.reprise,
        tokens_per_section=flags.get("tokens_per_section") or config.tokens_per_section,
        seed=args.seed,
    )
    written = write_pieces(model, tokenizer, config, styles, corpus.valid_scores, style=args.style)
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        from musickit.viz.metric_plots import plot_score_piano_roll

        for number, (ids, _, _) in enumerate(written):
            path = os.path.join(args.output, f"form_{config.form}_{number:02d}")
            write_midi(tokenizer.decode(ids), path + ".mid")
            if number < 4:  # a few piano rolls to look at
                plot_score_piano_roll(tokenizer.decode(ids), path + ".png", title=f"{args.style} {number}")
    if os.path.isfile(run.file("style_classifier.keras")):
        classifier = keras.saving.load_model(run.file("style_classifier.keras"), compile=False)
        with open(run.metrics_path) as handle:
            judge_accuracy = json.load(handle).get("style_classifier", {}).get("valid_accuracy")
    else:  # a run stopped after training: the recipe's style judge, trained here the same way
        classifier, accuracies = pipeline.train_style_judge(corpus, config, tokenizer, verbose=0)
        judge_accuracy = accuracies.get("valid_accuracy")
    report = judge_generated_pieces(
        written, tokenizer, model.encoder.snippet_length, classifier=classifier, styles=styles
    )
    low, high = report["form_contrast_interval"]
    from musickit.training.style_classifier import train_style_classifier

    texture_classifier, texture_accuracies = train_style_classifier(
        top_voice_split(corpus.train, tokenizer),
        styles,
        tokenizer.vocabulary_size,
        model.encoder.snippet_length,
        valid_split=top_voice_split(corpus.valid, tokenizer),
        epochs=config.style_classifier_epochs,
        pad_id=tokenizer.pad_id,
        seed=config.seed,
        verbose=0,
    )
    tops = [
        (tokenizer.encode(top_voice(tokenizer.decode([int(token) for token in ids]))), snippets, piece_style)
        for ids, snippets, piece_style in written
    ]
    texture = judge_generated_pieces(
        tops, tokenizer, model.encoder.snippet_length, classifier=texture_classifier, styles=styles
    )
    matches = [note_match(tokenizer.decode(ids)) for ids, _, _ in written]
    same = [match[0] for match in matches if match[0] is not None]
    different = [match[1] for match in matches if match[1] is not None]
    own, _ = dataset_token_nll(model, pipeline.snippet_pairs(corpus.valid, config, styles, tokenizer, shuffle=False))
    swapped = pipeline.snippet_pairs(shuffled_snippets(corpus.valid), config, styles, tokenizer, shuffle=False)
    other, _ = dataset_token_nll(model, swapped)
    result = {
        "run": args.run,
        "style": args.style,
        "pieces": len(written),
        "form": config.form,
        "reprise": config.reprise,
        "sampling": sampling.to_dict(),
        "form_contrast": report["mean"]["form_contrast"],
        "form_contrast_interval": [low, high],
        "style_recognition": report["style_accuracy"],
        "classifier_held_out_accuracy": judge_accuracy,
        "predicted_styles": [row.get("predicted_style") for row in report["pieces"]],
        "top_voice_style_recognition": texture["style_accuracy"],
        "top_voice_classifier_held_out_accuracy": texture_accuracies.get("valid_accuracy"),
        "note_match_same_label": sum(same) / len(same) if same else None,
        "note_match_different_label": sum(different) / len(different) if different else None,
        "held_out_nll_own_snippets": own,
        "held_out_nll_other_snippets": other,
    }
    print(
        f"{len(written)} {args.style} pieces in {config.form} (reprise {config.reprise}): form contrast "
        f"{result['form_contrast']:+.3f} (95% CI {low:+.3f} .. {high:+.3f}); recognised as {args.style}: "
        f"{result['style_recognition']:.2f} (the classifier's held-out accuracy: {judge_accuracy}); held-out "
        f"NLL/token with the own snippets {own:.3f}, with another piece's {other:.3f}; top voice alone: "
        f"recognised {texture['style_accuracy']:.2f} by a classifier of top voices (held-out accuracy "
        f"{texture_accuracies.get('valid_accuracy')}); notes of a later section its earlier one has: "
        f"{result['note_match_same_label']} same label, {result['note_match_different_label']} different"
    )
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

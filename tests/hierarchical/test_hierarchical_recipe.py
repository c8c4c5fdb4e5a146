"""``recipes/hierarchical_transformer.py --smoke``: run folder, MIDI with the requested form's markers, bad flags."""

import importlib.util
import json
import os

import pytest

from musickit.errors import UsageError
from musickit.music.midi_io import read_midi

RECIPE = os.path.join(os.path.dirname(__file__), "..", "..", "recipes", "hierarchical_transformer.py")


def _recipe():
    spec = importlib.util.spec_from_file_location("hierarchical_transformer_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.long
def test_smoke_run_writes_a_piece_in_the_requested_form(tmp_path):
    run_dir = tmp_path / "run"
    # The smoke preset trains end to end without pre-training fits, as the recipe's default does; the staged path
    # is tested in test_hierarchical_model.py and by the pipeline test below. The form curriculum walks both of its
    # phases at one window length: each length is another compiled step (the length curriculum is
    # test_curriculum.py's).
    metrics = _recipe().main(
        [
            "--smoke",
            "--form",
            "AABA",
            "--curriculum",
            "form",
            "--style",
            "bach",
            "--output-dir",
            str(run_dir),
        ]
    )
    for name in (
        "model.keras",
        "representation.json",
        "run.json",
        "metrics.json",
        "history.csv",
        "style_classifier.keras",
        "snippets.json",
    ):
        assert (run_dir / name).is_file(), name
    sample = read_midi(run_dir / "samples" / "form_AABA_1.mid")
    assert [marker.text for marker in sample.markers] == ["A", "A", "B", "A"]
    assert (run_dir / "samples" / "form_AABA_1.png").is_file()
    generation = metrics["generation"]
    assert generation["form"] == "AABA" and generation["pieces"][0]["style"] == "bach"
    assert 0.0 <= generation["style_accuracy"] <= 1.0
    assert metrics["style_classifier"]["valid_accuracy"] >= 0.0
    perplexity = metrics["perplexity"]
    assert perplexity["hierarchical"]["valid_nll"] > 0 and perplexity["decoder_only_baseline"]["valid_nll"] > 0
    # The baseline is matched to the hierarchical model's size.
    sizes = perplexity["hierarchical"]["parameters"], perplexity["decoder_only_baseline"]["parameters"]
    assert abs(sizes[0] - sizes[1]) / sizes[0] < 0.05
    assert json.loads((run_dir / "run.json").read_text())["model"] == "hierarchical_transformer"
    # The generate step alone reloads model.keras and the style classifier from the run folder.
    # One style throughout: the sampling rules fitted to a style's snippets (its voices) are traced into the
    # decoding loop, so the three writings below share one compiled loop (JAX keeps it for the run).
    again = _recipe().main(["generate", "--smoke", "--form", "AB", "--style", "bach", "--output-dir", str(run_dir)])
    assert [marker.text for marker in read_midi(run_dir / "samples" / "form_AB_1.mid").markers] == ["A", "B"]
    assert again["generation"]["pieces"][0]["style"] == "bach"
    assert again["style_classifier"] == metrics["style_classifier"]
    # `musickit generate --run` through the family: the run's saved snippets, no corpus, no recipe.
    from musickit.families.hierarchical_transformer import generate_from_run
    from musickit.families.request import GenerationRequest

    # --max-length 24 over three sections: 8 tokens a section
    request = GenerationRequest(form="ABA", style="bach", seed=3, num_samples=1, sampling_changes={"new_tokens": 24})
    written = generate_from_run(str(run_dir), str(tmp_path / "more"), request)
    assert [marker.text for marker in read_midi(written[0]["midi"]).markers] == ["A", "B", "A"]
    with pytest.raises(UsageError, match="not among the run's styles"):
        generate_from_run(str(run_dir), str(tmp_path / "more"), GenerationRequest(style="jazz"))


def test_whole_smoke_pipeline_with_pretraining_and_stages(tmp_path, monkeypatch):
    from musickit.families.hierarchical_transformer import config

    staged = {**config.PRESETS["smoke"], "stages": "A,B,C", "contrastive_epochs": 1, "language_model_epochs": 1}
    monkeypatch.setitem(config.PRESETS, "smoke", staged)
    metrics = _recipe().main(["--smoke", "--output-dir", str(tmp_path / "run")])
    assert 0.0 <= metrics["pretrain"]["retrieval_accuracy"] <= 1.0
    assert (tmp_path / "run" / "stages" / "stage_C.weights.h5").is_file()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--form", "AXA"], "section letters"),
        (["--stages", "A,Q"], "--stages"),
        (["--epochs", "0"], "--epochs"),
        (["--curriculum", "zigzag"], "--curriculum"),
    ],
)
def test_bad_flags_fail_before_any_work(argv, message, tmp_path):
    with pytest.raises(UsageError, match=message):
        _recipe().parse_arguments(argv + ["--output-dir", str(tmp_path)])


@pytest.mark.parametrize(
    "argv, message",
    [(["--style", "jazz"], "not among the trained styles"), (["--snippet", "A=no_such_file.mid"], "no_such_file.mid")],
)
def test_bad_generation_flags_fail_before_training(argv, message, tmp_path):
    with pytest.raises(ValueError, match=message):  # UsageError and MidiReadError are both ValueErrors
        _recipe().main(["--smoke", "--output-dir", str(tmp_path / "run"), *argv])
    assert not (tmp_path / "run" / "run.json").exists()  # nothing was trained or written


def test_no_copy_head_trains_the_ablation_and_copies_returning_sections(tmp_path):
    recipe = _recipe()
    default = recipe.settings(recipe.parse_arguments(["--output-dir", str(tmp_path)]))
    ablation = recipe.settings(recipe.parse_arguments(["--no-copy-head", "--output-dir", str(tmp_path)]))
    assert (default.copy_head, default.recall_windows, default.reprise) == (True, True, "recall")
    assert (ablation.copy_head, ablation.recall_windows, ablation.reprise) == (False, False, "copy")
    written_anew = recipe.settings(recipe.parse_arguments(["--no-copy-head", "--reprise", "none"]))
    assert written_anew.reprise == "none"

"""The hierarchical transformer's ablation studies run end to end through the ablation recipe (``--smoke``).

Every trial compiles several fits (pre-training, then each stage; each study two trials): ``staging``
(language-model pre-training, stages A, B1, C, and end to end), ``contrastive`` (adds NT-Xent
pre-training) and the two size studies (``encoder_size``, ``snippet_length``).
"""

import csv
import json

import pytest

from tests.conftest import load_recipe


@pytest.fixture(scope="module")
def recipe():
    return load_recipe("ablation_search")


def run_study(recipe, folder, name, *extra):
    rows = recipe.main(["--study", name, "--smoke", "--output-dir", str(folder / name), *extra])
    with open(folder / name / "results.csv", newline="") as handle:
        written = list(csv.DictReader(handle))
    return rows, written


def epochs_logged(folder, trial):
    path = folder / "grid" / f"trial_{trial}" / "execution_0" / "epochs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.long
def test_staging_smoke_study(recipe, tmp_path):
    rows, written = run_study(recipe, tmp_path, "staging")
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    assert {row["training"] for row in written} == {"staged", "end_to_end"}
    objectives = [row["objective"] for row in rows]
    assert objectives == sorted(objectives) and all(value > 0 for value in objectives)
    assert json.loads((tmp_path / "staging" / "study.json").read_text())["data"] == "bach,essen"
    by_training = {row["training"]: row["trial"] for row in written}
    # Smoke decoder: one block, so staged is A, B1, C (one epoch each) and end to end gets the same three epochs.
    for training, trial in by_training.items():
        logged = epochs_logged(tmp_path / "staging", trial)
        assert [line["epoch"] for line in logged] == [0, 1, 2], training
        assert all(line["val_loss"] > 0 for line in logged)
    # The stage checkpoints are gone once a trial is finished (the tuner keeps the best epoch's weights).
    assert not list((tmp_path / "staging").glob("grid/trial_*/execution_0/hierarchical"))


@pytest.mark.parametrize(
    "name, hyperparameter, values",
    [
        ("contrastive", "contrastive_pretraining", {"True", "False"}),
        ("encoder_size", "encoder_layers", {"1", "2"}),
        ("snippet_length", "snippet_length", {"8", "16"}),
    ],
)
def test_other_smoke_studies(recipe, tmp_path, name, hyperparameter, values):
    rows, written = run_study(recipe, tmp_path, name)
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    assert {row[hyperparameter] for row in written} == values
    assert all(row["objective"] > 0 for row in rows)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--study", "staging", "--tuner", "hyperband"], "use --tuner grid, random or bayesian"),
        (["--study", "contrastive", "--objective", "pitch_class_histogram_distance"], "use --objective nll"),
    ],
)
def test_what_the_hierarchical_studies_cannot_do_is_one_line(recipe, tmp_path, capsys, argv, message):
    from musickit.runs.entry import run_main

    assert run_main(recipe.main, [*argv, "--smoke", "--output-dir", str(tmp_path / "study")]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error
    assert not (tmp_path / "study").exists()

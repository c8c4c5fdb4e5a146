"""The VAE-GAN hypermodel: the recipe's defaults, tuned values reaching the model, and a smoke study end to end."""

import csv
import json

import keras_tuner
import pytest

from musickit.families.vae_gan.config import VaeGanConfig
from musickit.tuning.studies import VAE_GAN, get_study
from musickit.tuning.vae_gan_hypermodel import VaeGanHyperModel
from tests.conftest import load_recipe


@pytest.fixture(scope="module")
def recipe():
    return load_recipe("ablation_search")


def test_defaults_are_the_recipes_and_tuned_values_reach_the_model():
    recipe = VaeGanConfig.preset("cpu")
    hypermodel = VaeGanHyperModel(VaeGanConfig.preset("smoke"))
    hp = keras_tuner.HyperParameters()
    config = hypermodel.trial_config(hp)
    assert (config.free_bits, config.kl_schedule, config.adversarial_weight) == (
        recipe.free_bits,
        recipe.kl_schedule,
        recipe.adversarial_weight,
    )
    assert config.enforce_gates is False  # a collapsed trial is scored, not stopped
    hp = keras_tuner.HyperParameters()
    hp.Fixed("bar_latent_dim", 3)
    hp.Fixed("kl_schedule", "constant")
    model = hypermodel.build(hp)
    assert (model.bar_latent_dim, model.kl_schedule) == (3, "constant")


def test_the_studies_tune_what_the_issue_names():
    tuned = {name for study in ("vae_latents", "vae_regularisers") for name in get_study(study).grid}
    assert tuned == {"bar_latent_dim", "free_bits", "kl_schedule", "adversarial_weight"}
    assert get_study("vae_latents").family == VAE_GAN and get_study("vae_latents").size() == 9


@pytest.mark.long
def test_a_smoke_study_trains_the_stages_and_reports_the_validation_measures(recipe, tmp_path):
    folder = tmp_path / "vae_latents"
    rows = recipe.main(["--study", "vae_latents", "--smoke", "--max-trials", "1", "--output-dir", str(folder)])
    assert [row["status"] for row in rows] == ["COMPLETED"] and rows[0]["objective"] > 0
    with open(folder / "results.csv", newline="") as handle:
        assert [row["bar_latent_dim"] for row in csv.DictReader(handle)] == ["2"]
    execution = next(folder.glob("grid/trial_*/execution_0"))
    logged = [json.loads(line) for line in (execution / "epochs.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in logged] == [0]
    for name in ("val_nll", "val_teacher_forced_accuracy", "val_shuffle_accuracy_drop", "val_max_token_run"):
        assert name in logged[0], name
    assert not (execution / "vae_gan").exists()  # the stages' run folder goes once the trial is finished


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--study", "vae_regularisers", "--tuner", "hyperband"], "use --tuner grid, random or bayesian"),
        (["--study", "vae_latents", "--objective", "pitch_class_histogram_distance"], "use --objective nll"),
    ],
)
def test_what_the_vae_gan_studies_cannot_do_is_one_line(recipe, tmp_path, capsys, argv, message):
    from musickit.runs.entry import run_main

    assert run_main(recipe.main, [*argv, "--smoke", "--output-dir", str(tmp_path / "study")]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error
    assert not (tmp_path / "study").exists()

"""The hierarchical family's settings: one value per preset, overrides, and bad values refused in one line."""

import pytest

from musickit.errors import UsageError
from musickit.families import FAMILIES
from musickit.families.hierarchical_transformer import MODEL_NAME, HierarchicalConfig


def test_each_preset_has_one_snippet_length_and_the_cpu_preset_is_the_default():
    assert HierarchicalConfig() == HierarchicalConfig.preset("cpu")
    lengths = {name: HierarchicalConfig.preset(name).snippet_length for name in ("smoke", "cpu", "gpu")}
    assert lengths == {"smoke": 16, "cpu": 64, "gpu": 256}


def test_smoke_preset_takes_the_cpu_presets_steps_but_few_of_them():
    smoke, cpu = HierarchicalConfig.preset("smoke"), HierarchicalConfig.preset("cpu")
    assert (smoke.stages, smoke.contrastive_epochs, smoke.language_model_epochs) == ("E", 0, 0)
    assert (cpu.stages, cpu.contrastive_epochs, cpu.language_model_epochs) == ("E", 0, 0)
    assert smoke.baseline and smoke.num_layers == 1 and smoke.steps_per_epoch == 2


def test_overrides_replace_values_and_none_keeps_the_preset():
    config = HierarchicalConfig.preset("smoke", snippet_length=32, form=None)
    assert config.snippet_length == 32 and config.form == "ABA"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"stages": "A,Q"}, "--stages"),
        ({"curriculum": "zigzag"}, "--curriculum"),
        ({"model_preset": "huge"}, "model preset"),
        ({"schedule": "sawtooth"}, "schedule"),
    ],
)
def test_bad_settings_are_one_line(changes, message):
    with pytest.raises(UsageError, match=message):
        HierarchicalConfig(**changes)
    with pytest.raises(UsageError, match="unknown preset"):
        HierarchicalConfig.preset("laptop")


def test_the_registry_names_the_family_by_its_run_json_model_name():
    assert FAMILIES[MODEL_NAME] == "musickit.families.hierarchical_transformer"

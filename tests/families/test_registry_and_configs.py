"""The family registry, the configurations' presets and round trips, and old sampling.json files."""

import json

import pytest

from musickit.errors import UsageError
from musickit.families import FAMILIES, family_names, get_family
from musickit.families.music_transformer.config import MusicTransformerConfig
from musickit.families.piano_roll_lstm.config import FAMILY_SAMPLING, PianoRollLSTMConfig
from musickit.generation.sampling_config import MASKED_LOGIT, SamplingConfig


def test_registry_maps_run_names_to_family_packages():
    assert {"piano_roll_lstm", "music_transformer"} <= set(family_names())
    for name in ("piano_roll_lstm", "music_transformer"):
        family = get_family(name)
        assert family.MODEL_NAME == name and callable(family.generate_from_run)
        assert FAMILIES[name] == family.__name__


def test_an_unknown_family_is_one_line_listing_the_known_ones():
    with pytest.raises(UsageError, match="unknown model family 'vae'; musickit knows .*piano_roll_lstm") as error:
        get_family("vae")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("config_class", [PianoRollLSTMConfig, MusicTransformerConfig])
def test_presets_differ_where_they_should_and_round_trip(config_class):
    smoke, cpu, gpu = (config_class.preset(name) for name in ("smoke", "cpu", "gpu"))
    assert cpu == config_class()  # the dataclass defaults are the cpu preset (the recipe's)
    assert smoke.epochs < cpu.epochs < gpu.epochs
    assert smoke.steps_per_epoch == 2 and cpu.steps_per_epoch is None
    for config in (smoke, cpu, gpu):
        assert config_class.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config_class.preset("smoke", batch_size=4).batch_size == 4
    with pytest.raises(UsageError, match="unknown preset 'huge'"):
        config_class.preset("huge")
    with pytest.raises(UsageError, match="--batch-size must be at least 1"):
        cpu.replace(batch_size=0)


def test_piano_roll_smoke_preset_is_tiny():
    smoke = PianoRollLSTMConfig.preset("smoke")
    assert (smoke.lstm_units, smoke.num_layers, smoke.window_bars, smoke.bars, smoke.max_files) == (8, 1, 2, 1, 8)
    assert smoke.window == 2 * 16 and smoke.frame_channels == 2
    assert PianoRollLSTMConfig.preset("gpu").lstm_units == 512
    with pytest.raises(UsageError, match="--head"):
        PianoRollLSTMConfig(head="bidirectional").validate()


def test_transformer_config_checks_its_choices():
    with pytest.raises(UsageError, match="--form 'XY'"):
        MusicTransformerConfig(form="XY").validate()
    with pytest.raises(UsageError, match="--preset"):
        MusicTransformerConfig(model_preset="huge").validate()
    assert MusicTransformerConfig.preset("smoke").sampling.new_tokens == 24


def test_sampling_config_round_trip_and_one_set_of_checks():
    config = SamplingConfig(temperature=0.8, top_k=5, key="D minor", key_penalty=1.5, new_tokens=40)
    assert SamplingConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    for change, flag in [
        ({"top_p": 0.0}, "--top-p"),
        ({"temperature": 0.0}, "--temperature"),
        ({"key": "H"}, "--key"),
        ({"scale": "blues"}, "--scale"),
        ({"top_k": -1}, "--top-k"),
        ({"repetition_penalty": 0.5}, "--repetition-penalty"),
        ({"max_rest_steps": -2}, "rest"),
        ({"new_tokens": 0}, "--new-tokens"),
        ({"key_penalty": -1.0}, "--key-penalty"),
    ]:
        with pytest.raises(UsageError, match=flag):
            SamplingConfig(**change).validate()
    with pytest.raises(UsageError, match="unknown sampling settings \\['warmth'\\]"):
        SamplingConfig.from_dict({"temperature": 1.0, "warmth": 3})


def test_an_old_piano_roll_sampling_json_still_loads():
    """The file piano-roll runs wrote before SamplingConfig: out_of_key_bias, a negative logit, -1e9 a hard mask."""
    old = {
        "key": "primer",
        "max_polyphony": 4,
        "out_of_key_bias": -2.0,
        "repetition_penalty": 1.0,
        "repetition_window": 16,
        "scale": None,
        "temperature": 0.9,
        "top_k": 0,
        "top_p": 0.95,
    }
    # What the family sampled with then; the settings added later (the voice floor, the clash penalty) stay off.
    then = SamplingConfig(temperature=0.9, top_p=0.95, key="primer", key_penalty=2.0, max_polyphony=4)
    assert SamplingConfig.from_dict(old) == then
    hard = SamplingConfig.from_dict({**old, "out_of_key_bias": MASKED_LOGIT})
    assert hard.key_penalty is None
    assert set(hard.key_mask_bias(12, 60, "C major")) == {0.0, MASKED_LOGIT}
    assert set(SamplingConfig.from_dict(old).key_mask_bias(12, 60, "C major")) == {0.0, -2.0}


def test_flags_become_a_configuration_at_the_edge():
    import argparse

    from musickit.runs.flags import config_changes_from_flags
    from musickit.runs.sampling_flags import sampling_changes_from_flags, sampling_config_from_flags

    unset = argparse.Namespace(temperature=None, top_k=None, top_p=0.8, key=None, max_length=100, seed=3)
    assert sampling_changes_from_flags(unset) == {"top_p": 0.8, "new_tokens": 100}
    config = sampling_config_from_flags(unset, FAMILY_SAMPLING)
    assert (config.temperature, config.top_p, config.max_polyphony, config.new_tokens) == (0.9, 0.8, 4, 100)
    # A recipe's flags default to the cpu preset: only what differs from it changes the run's (smoke) preset.
    at_defaults = argparse.Namespace(temperature=0.9, top_p=0.95, key="primer", max_polyphony=2)
    # A voice count asked for also stops the run from fitting the voices to its corpus.
    assert sampling_changes_from_flags(at_defaults, FAMILY_SAMPLING) == {
        "max_polyphony": 2,
        "voices_from_corpus": False,
    }
    assert FAMILY_SAMPLING.fitted_to_corpus(1, 1).voice_floor == 1  # the family's default fits: a melody corpus
    cpu = PianoRollLSTMConfig()
    flags = argparse.Namespace(lstm_units=256, head="independent", max_files=None)
    assert config_changes_from_flags(flags, cpu, ("lstm_units", "head", "max_files")) == {"head": "independent"}

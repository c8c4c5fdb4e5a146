"""Samplers by name and from the shared flags; impossible settings are refused."""

import pytest
from keras_hub.samplers import BeamSampler, GreedySampler, RandomSampler, TopKSampler, TopPSampler

from musickit.errors import UsageError
from musickit.generation.samplers import get_sampler, resolve_sampler, sampler_from_flags


def test_names_give_keras_hub_samplers_with_their_settings():
    assert isinstance(get_sampler("greedy"), GreedySampler)
    assert isinstance(get_sampler("temperature", temperature=0.7), RandomSampler)
    assert get_sampler("top_k", top_k=7).k == 7
    nucleus = get_sampler("top_p", top_p=0.8, top_k=20, temperature=1.1)
    assert isinstance(nucleus, TopPSampler) and (nucleus.p, nucleus.k, nucleus.temperature) == (0.8, 20, 1.1)
    assert isinstance(get_sampler("beam", num_beams=3), BeamSampler)


def test_flags_choose_top_p_then_top_k_then_temperature():
    assert isinstance(sampler_from_flags(top_p=0.9, top_k=5), TopPSampler)
    assert isinstance(sampler_from_flags(top_k=5), TopKSampler)
    assert isinstance(sampler_from_flags(temperature=0.8), RandomSampler)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"name": "top_p", "top_p": 0.0}, r"top[-_]p must be in \(0, 1\]"),
        ({"name": "top_p", "top_p": 1.01}, r"top[-_]p must be in \(0, 1\]"),
        ({"name": "top_k", "top_k": 0}, "top-k must be"),
        ({"name": "temperature", "temperature": 0.0}, "temperature must be > 0"),
        ({"name": "beam", "num_beams": 0}, "num_beams"),
        ({"name": "mirostat"}, "unknown sampler"),
    ],
)
def test_impossible_settings_are_refused(options, message):
    with pytest.raises(UsageError, match=message):
        get_sampler(**options)


def test_instances_are_checked_too():
    with pytest.raises(UsageError, match="top-p"):
        resolve_sampler(TopPSampler(p=2.0))
    with pytest.raises(UsageError, match="only apply to a sampler given by name"):
        resolve_sampler(GreedySampler(), top_k=3)

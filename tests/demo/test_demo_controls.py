"""The demo's per-family controls, presets, and what it reads from run folders (no model, no Streamlit)."""

import pytest

from musickit.demo.controls import (
    CONTROLS,
    FAMILY_CONTROLS,
    PRESETS,
    apply_preset,
    check_settings,
    controls_for,
    default_settings,
)
from musickit.demo.generation import sampling_changes
from musickit.demo.runs import corpus_metrics
from musickit.errors import UsageError


def test_each_family_has_its_own_controls():
    assert "bars" in controls_for("piano_roll_lstm") and "max_length" not in controls_for("piano_roll_lstm")
    assert {"style", "max_length", "primer"} <= set(controls_for("music_transformer"))
    composers = {family: names for family, names in FAMILY_CONTROLS.items() if family != "mel_diffusion"}
    assert all("bars" in names for names in composers.values())  # every composing family has a length in bars
    assert controls_for("mel_diffusion") == ("primer", "seed")  # a renderer: its MIDI's length is the length
    assert {"form", "snippets", "emotion", "tempo"} <= set(controls_for("hierarchical_transformer"))
    assert all(name in CONTROLS for names in FAMILY_CONTROLS.values() for name in names)
    with pytest.raises(UsageError, match="'new_family', which the demo does not know"):
        controls_for("new_family")


def test_presets_change_only_the_controls_a_family_has():
    assert len(PRESETS) >= 5 and PRESETS["faithful"] == {}
    assert all(name in CONTROLS for preset in PRESETS.values() for name in preset)
    run = {"temperature": 0.9, "top_p": 0.95, "bars": 4}
    assert apply_preset("faithful", run, controls_for("piano_roll_lstm")) == run
    calm = apply_preset("calm in C major", run, controls_for("piano_roll_lstm"))
    assert calm == {"temperature": 0.8, "top_p": 0.95, "bars": 4, "key": "C", "scale": "major", "max_polyphony": 3}
    assert "emotion" in apply_preset("calm in C major", {}, controls_for("hierarchical_transformer"))
    with pytest.raises(UsageError, match="unknown preset 'loud'"):
        apply_preset("loud", run, ())


def test_the_length_in_bars_starts_at_the_runs_own():
    vae = {"model": "vae_gan", "config": {"bars_per_segment": 2}}
    assert default_settings(controls_for("vae_gan"), {}, vae)["bars"] == 2
    hierarchical = {"model": "hierarchical_transformer", "bars_per_section": 4, "flags": {"form": "ABA"}}
    assert default_settings(controls_for("hierarchical_transformer"), {}, hierarchical)["bars"] == 12
    assert default_settings(controls_for("music_transformer"), {}, {"model": "music_transformer"})["bars"] == 4


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"temperature": 0.0}, "Temperature must be above 0, got 0.0"),
        ({"top_p": 0.0}, r"Top-p must be in \(0, 1\], got 0.0"),
        ({"bars": 0}, "Length in bars must be between 1 and 32, got 0"),
        ({"key": "H"}, "Key 'H':"),
        ({"scale": "lydian"}, "Scale must be one of major"),
        ({"form": "A-B"}, "Form 'A-B': use section letters"),
    ],
)
def test_impossible_settings_are_one_line(settings, message):
    with pytest.raises(UsageError, match=message):
        check_settings(settings)


def test_possible_settings_pass():
    check_settings({"temperature": 1.2, "top_p": 1.0, "key": "F# minor", "scale": "minor", "form": "ABA", "bars": 32})
    check_settings({"key": "primer", "scale": None, "style": None})


def test_only_settings_that_differ_from_the_run_are_sent():
    saved = {"temperature": 0.9, "top_p": 0.95, "key": "primer", "new_tokens": 256}
    settings = {
        "temperature": 0.9,
        "top_p": 0.8,
        "key": "primer",
        "scale": None,
        "max_length": 256,
        "top_k": 5,
        "seed": 3,
    }
    assert sampling_changes(settings, saved) == {"top_p": 0.8, "top_k": 5}
    assert sampling_changes({"max_length": 128, "key": ""}, saved) == {"max_length": 128}


def test_corpus_metrics_come_from_either_recipe_layout():
    lstm = {"samples": {"held_out": {"note_density": 2.0, "pieces": 2, "pitch_class_histogram": [0.5, 0.5]}}}
    assert corpus_metrics(lstm) == ({"note_density": 2.0}, "samples.held_out")
    transformer = {"generation": {"held_out": {"polyphony": 3.5, "in_scale_ratio": None}}}
    assert corpus_metrics(transformer) == ({"polyphony": 3.5}, "generation.held_out")
    assert corpus_metrics({"valid_nll": 1.0}) == ({}, "")


def test_the_hierarchical_family_shows_its_sampling_controls_but_no_primer():
    names = controls_for("hierarchical_transformer")
    assert {"key", "scale", "repetition_penalty", "max_polyphony", "top_k", "top_p"} <= set(names)
    assert "primer" not in names and "bars" in names
    with pytest.raises(UsageError, match="this model has no primer"):
        check_settings({"key": "primer"}, names)
    check_settings({"key": "primer"}, controls_for("music_transformer"))


def test_snippet_uploads_reach_the_family_as_section_files(tmp_path, monkeypatch):
    import musickit.families
    from musickit.demo.generation import generate

    (tmp_path / "run.json").write_text('{"model": "hierarchical_transformer"}')
    requests = []

    class Family:
        @staticmethod
        def generate_from_run(run_dir, output_dir, request):
            requests.append(request)
            return [{"name": "form_AB_1", "midi": "m", "png": "p", "wav": "w", "audio": "synth", "score": None}]

    monkeypatch.setattr(musickit.families, "get_family", lambda name: Family)
    pieces = generate(str(tmp_path), str(tmp_path / "out"), {"form": "AB", "snippets": {"A": "a.mid"}, "seed": 2})
    assert requests[0].snippets == {"A": "a.mid"} and (requests[0].form, requests[0].seed) == ("AB", 2)
    assert pieces == [{"name": "form_AB_1", "midi": "m", "png": "p", "wav": "w", "audio": "synth"}]

"""The Music Transformer family: decoding generated ids, its sampling configuration, processors, presets."""

from musickit.families.music_transformer.generation import decode_piece
from musickit.representations.remi import REMITokenizer


def test_a_piece_whose_first_tempo_comes_late_starts_at_time_zero():
    tokenizer = REMITokenizer()  # 4 steps per quarter
    names = [
        "Bar",
        "Position_0",
        "Pitch_60",
        "Velocity_22",
        "Duration_4",
        "Position_4",
        "Tempo_60",
        "Pitch_64",
        "Velocity_22",
        "Duration_4",
    ]
    score = decode_piece(tokenizer, [tokenizer.token_to_id(name) for name in names])
    # The tempo set on beat 2 also holds for beat 1: one quarter at 60 qpm is one second.
    assert [(note.pitch, note.start, note.end) for note in score.notes] == [(60, 0.0, 1.0), (64, 1.0, 2.0)]
    assert (score.tempos[0].time, score.tempos[0].qpm) == (0.0, 60.0)


def test_sampling_configuration_is_saved_and_read_back(tmp_path):
    from musickit.families.music_transformer.config import FAMILY_SAMPLING, LEGACY_SAMPLING
    from musickit.families.music_transformer.generation import run_sampling
    from musickit.runs.folder import RunFolder

    run = RunFolder(str(tmp_path / "run"))
    run.write_json(run.info_path, {"model": "music_transformer", "new_tokens": 300})
    # A run made before sampling.json existed samples as musickit generate always did, with its own length.
    assert run_sampling(run) == LEGACY_SAMPLING.replace(new_tokens=300)
    FAMILY_SAMPLING.save(run)
    assert run_sampling(run) == FAMILY_SAMPLING


def test_an_old_sampling_json_still_loads(tmp_path):
    """The file a Music Transformer run wrote before SamplingConfig (no repetition_window, top_k as None)."""
    import json

    from musickit.families.music_transformer.generation import run_sampling
    from musickit.runs.folder import RunFolder

    run = RunFolder(str(tmp_path / "run"))
    run.write_json(run.info_path, {"model": "music_transformer", "new_tokens": 24})
    old = {
        "ascending_pitches": True,
        "full_length": True,
        "key": "auto",
        "key_penalty": 1.2,
        "max_polyphony": 4,
        "max_rest_steps": 0,
        "new_tokens": 24,
        "no_duplicates": True,
        "repetition_penalty": 1.0,
        "scale": None,
        "temperature": 0.7,
        "top_k": None,
        "top_p": 0.95,
    }
    (tmp_path / "run" / "sampling.json").write_text(json.dumps(old))
    config = run_sampling(run)
    assert (config.temperature, config.top_k, config.key, config.key_penalty, config.new_tokens) == (
        0.7,
        0,
        "auto",
        1.2,
        24,
    )
    assert config.repetition_window == 64  # the window the family always used
    assert (config.min_voices, config.clash_penalty) == (0, 0.0)  # settings added later stay off for an old run


def test_processors_follow_the_sampling_configuration():
    from musickit.generation.processors import ForbiddenTokens, RemiGrammarMask, RemiNoteRules
    from musickit.generation.sampling_config import SamplingConfig
    from musickit.generation.token_sampling import token_processors

    tokenizer = REMITokenizer(num_velocity_bins=0, use_programs=False)
    plain = token_processors(SamplingConfig(), tokenizer, tokenizer.vocabulary_size)
    assert [type(p) for p in plain] == [ForbiddenTokens, RemiGrammarMask]
    ruled = token_processors(
        SamplingConfig(max_polyphony=4, no_duplicates=True, max_rest_steps=0), tokenizer, tokenizer.vocabulary_size
    )
    rules = ruled[-1]
    assert isinstance(rules, RemiNoteRules) and rules.note_order == ("pitch", "duration")
    assert (rules.max_polyphony, rules.no_duplicates, rules.max_rest_steps) == (4, True, 0)
    assert rules.reset_token_ids == [tokenizer.prompt_end_id]
    # --key auto takes the prompt's key; full_length forbids EOS.
    from musickit.generation.processors import KeyScaleMask
    from musickit.generation.token_sampling import prompt_key

    prompt = [
        tokenizer.token_to_id(name)
        for name in [
            "Bar",
            "Position_0",
            "Pitch_57",
            "Duration_8",
            "Pitch_64",
            "Duration_8",
            "Position_8",
            "Pitch_56",
            "Duration_4",
            "Pitch_59",
            "Duration_4",
            "Position_12",
            "Pitch_57",
            "Duration_4",
            "Pitch_60",
            "Duration_4",
        ]
    ]
    assert prompt_key(tokenizer, prompt) == ("A minor", "harmonic_minor")
    keyed = token_processors(
        SamplingConfig(key="auto", key_penalty=1.0, full_length=True),
        tokenizer,
        tokenizer.vocabulary_size,
        prompt=prompt,
    )
    key_mask = [p for p in keyed if isinstance(p, KeyScaleMask)][0]
    assert (key_mask.key, key_mask.scale, key_mask.penalty) == ("A minor", "harmonic_minor", 1.0)
    assert any(isinstance(p, ForbiddenTokens) and p.token_ids == [tokenizer.eos_id] for p in keyed)

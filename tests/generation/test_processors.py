"""Logits processors: hand-computed masks and penalties, and a grammar-masked REMI stream that decodes."""

import keras
import numpy as np
import pytest
from keras import ops

from musickit.errors import UsageError
from musickit.families.music_transformer.generation import decode_piece
from musickit.generation.processors import (
    FORBIDDEN_LOGIT,
    ForbiddenTokens,
    KeyScaleMask,
    NoRepeatNGram,
    RemiGrammarMask,
    RemiNoteRules,
    RepetitionPenalty,
    combined_allowed_tokens,
    vocabulary_structure,
)
from musickit.models.music_transformer import MusicTransformer
from musickit.music.midi_io import write_midi
from musickit.representations.remi import REMITokenizer


def _apply(processor, logits, history, index):
    return np.asarray(
        ops.convert_to_numpy(processor(np.asarray(logits, "float32"), np.asarray(history, "int32"), index))
    )


def test_repetition_penalty_only_looks_back_over_its_window_and_tokens():
    logits = [[2.0, 2.0, 2.0, -2.0]]
    history = [[0, 1, 3, 0, 0, 0]]
    # Window 2 at index 3 sees tokens 1 and 3 only; token 0 is older.
    np.testing.assert_allclose(_apply(RepetitionPenalty(2.0, window=2), logits, history, 3), [[2.0, 1.0, 2.0, -4.0]])
    restricted = RepetitionPenalty(2.0, window=8, penalized_tokens=[3])
    np.testing.assert_allclose(_apply(restricted, logits, history, 3), [[2.0, 2.0, 2.0, -4.0]])
    with pytest.raises(UsageError, match=">= 1"):
        RepetitionPenalty(0.5)


def test_no_repeat_ngram_bans_only_completions_of_seen_ngrams():
    history = [[5, 6, 7, 5, 6, 0, 0]]
    # Trigram "5 6 7" was played and the last two tokens are "5 6": 7 is banned, nothing else.
    out = _apply(NoRepeatNGram(3), np.zeros((1, 9)), history, 5)
    assert np.flatnonzero(out[0] <= FORBIDDEN_LOGIT / 2).tolist() == [7]
    # With unfilled positions ignored, an early index bans nothing.
    assert (_apply(NoRepeatNGram(3), np.zeros((1, 9)), history, 2) == 0).all()


def test_key_mask_keeps_scale_pitches_and_every_other_token():
    pitches = [-1, 60, 61, 62, 66, 67]
    mask = KeyScaleMask(pitches, key="G", scale="major")  # G major has F# (66) but not C# (61)
    assert mask.allowed_tokens(6).tolist() == [True, True, False, True, True, True]
    ranged = KeyScaleMask(pitches, key="G", scale="major", pitch_range=(62, 70))
    out = _apply(ranged, np.zeros((2, 6)), np.zeros((2, 3)), 1)
    assert (out[:, [0, 3, 4, 5]] == 0).all() and (out[:, [1, 2]] == FORBIDDEN_LOGIT).all()
    with pytest.raises(UsageError, match="--key/--scale"):
        KeyScaleMask(pitches, key="C", scale="lydian-ish")


def test_processors_that_allow_nothing_are_refused():
    with pytest.raises(UsageError, match="no pitch token is left"):
        combined_allowed_tokens([KeyScaleMask([-1, 61, 63], key="C", scale="major")], 3)
    with pytest.raises(UsageError, match="allow no token at all"):
        combined_allowed_tokens([KeyScaleMask([61, 63], key="C", scale="major")], 2)


def test_vocabulary_structure_reads_remi_families():
    tokenizer = REMITokenizer()
    kinds, values = vocabulary_structure(tokenizer)
    assert kinds[tokenizer.token_to_id("Pitch_60")] == "pitch" and values[tokenizer.token_to_id("Pitch_60")] == 60
    assert kinds[tokenizer.token_to_id("Position_3")] == "position" and values[tokenizer.token_to_id("Position_3")] == 3
    assert kinds[tokenizer.token_to_id("TimeSignature_3/4")] == "time_signature"
    assert kinds[tokenizer.eos_id] == "special" and kinds[tokenizer.token_to_id("STYLE_bach")] == "style"
    grammar = RemiGrammarMask.from_tokenizer(tokenizer)
    assert grammar.token_values[tokenizer.token_to_id("TimeSignature_3/4")] == 12
    # Ids past the tokenizer's vocabulary (a model's condition tokens) are "other"; the grammar mask treats
    # every kind outside the bar grammar (specials, sections, styles) as "other" too.
    kinds, values = vocabulary_structure(tokenizer, tokenizer.vocabulary_size + 2)
    assert kinds[-2:] == ["other", "other"] and values[-2:] == [-1, -1]


def _check_remi_stream(names):
    """A reference checker for the grammar, written independently of the processor (plain Python)."""
    position, in_bar, bar_steps, previous = -1, False, 16, "start"
    follows = {
        "Pitch": {"Position", "Tempo", "Program", "Duration"},
        "Velocity": {"Pitch"},
        "Duration": {"Velocity"},
        "Program": {"Position", "Tempo", "Duration"},
        "Tempo": {"Position"},
        "TimeSignature": {"Bar"},
    }
    for name in names:
        family = (
            name.split("_")[0]
            if name.split("_")[0]
            in {"Pitch", "Velocity", "Duration", "Program", "Tempo", "TimeSignature", "Position", "Bar"}
            else "other"
        )
        if family in follows:
            assert previous in follows[family], f"{name} after {previous}"
        if previous in ("Position", "Program", "Pitch", "Velocity"):
            assert (
                family
                in {
                    "Position": {"Tempo", "Program", "Pitch"},
                    "Program": {"Pitch"},
                    "Pitch": {"Velocity"},
                    "Velocity": {"Duration"},
                }[previous]
            ), f"{name} after {previous}"
        if family == "Bar":
            position, in_bar = -1, True
        elif family == "TimeSignature":
            numerator, denominator = name.split("_")[1].split("/")
            bar_steps = round(int(numerator) * 4 / int(denominator) * 4)
        elif family == "Position":
            value = int(name.split("_")[1])
            assert in_bar and position < value < bar_steps, f"{name} after position {position} in {bar_steps} steps"
            position = value
        previous = family


def test_grammar_masked_generation_from_an_untrained_model_is_decodable(tmp_path):
    tokenizer = REMITokenizer()
    keras.utils.set_random_seed(8)
    model = MusicTransformer.from_preset(
        "tiny", vocabulary_size=tokenizer.vocabulary_size, max_sequence_length=32, end_id=tokenizer.eos_id
    )
    grammar = RemiGrammarMask.from_tokenizer(tokenizer)
    prompt = [tokenizer.bos_id, tokenizer.style_token_id("bach")]
    outputs = model.generate([prompt, prompt], max_length=32, sampler="temperature", seed=3, processors=[grammar])
    for row in outputs:
        names = [tokenizer.id_to_token(token) for token in row if token != tokenizer.eos_id]
        _check_remi_stream(names[2:])
        write_midi(decode_piece(tokenizer, row), tmp_path / "piece.mid")
    # Without the mask the same model writes ungrammatical streams (so the check above can fail).
    unmasked = model.generate([prompt], max_length=32, sampler="temperature", seed=3)[0]
    with pytest.raises(AssertionError):
        _check_remi_stream([tokenizer.id_to_token(token) for token in unmasked if token != tokenizer.eos_id][2:])


# Note rules, on the compact chorale vocabulary (notes are "Pitch Duration").
COMPACT = REMITokenizer(num_velocity_bins=0, use_programs=False)


def _allowed_names(processor, names, tokenizer=COMPACT):
    """The token names ``processor`` leaves open after the tokens ``names``."""
    ids = [tokenizer.token_to_id(name) for name in names]
    history = np.zeros((1, len(ids) + 4), "int32")
    history[0, : len(ids)] = ids
    logits = _apply(processor, np.zeros((1, tokenizer.vocabulary_size)), history, len(ids))
    return {tokenizer.id_to_token(i) for i in np.flatnonzero(logits[0] > FORBIDDEN_LOGIT / 2)}


def test_note_rules_forbid_striking_a_sounding_pitch_across_a_bar_line():
    rules = RemiNoteRules.from_tokenizer(COMPACT, no_duplicates=True)
    # A whole-bar-and-a-half C4 in 3/4 from step 0 (24 steps), then bar 2 (steps 12..23).
    names = [
        "Bar",
        "TimeSignature_3/4",
        "Position_0",
        "Pitch_60",
        "Duration_24",
        "Pitch_64",
        "Duration_4",
        "Bar",
        "Position_4",
        "Pitch_67",
        "Duration_2",
    ]
    allowed = _allowed_names(rules, names)
    assert "Pitch_60" not in allowed  # still held at step 16
    assert "Pitch_67" not in allowed  # struck at this very position
    assert {"Pitch_64", "Pitch_62", "Position_5", "Bar"} <= allowed  # E4 ended at step 4
    # Before its Duration a note counts as sounding at its onset.
    assert "Pitch_67" not in _allowed_names(rules, names[:-1])


def test_note_rules_cap_polyphony_at_the_next_pitch_and_at_positions():
    rules = RemiNoteRules.from_tokenizer(COMPACT, max_polyphony=2, no_duplicates=False)
    names = ["Bar", "Position_0", "Pitch_48", "Duration_8", "Pitch_55", "Duration_4"]
    allowed = _allowed_names(rules, names)
    assert not any(name.startswith("Pitch_") for name in allowed)  # two notes sound at step 0
    positions = sorted(int(name.split("_")[1]) for name in allowed if name.startswith("Position_"))
    assert min(positions) == 4  # G3 sounds until step 4 (the bar's end is the grammar's rule)
    assert "Pitch_60" in _allowed_names(rules, names[:-2])


def test_note_rules_close_rests_and_ignore_the_prompt():
    rules = RemiNoteRules.from_tokenizer(COMPACT, max_rest_steps=2, no_duplicates=False)
    prompt = ["PROMPT_START", "SECTION_A", "Bar", "Position_0", "Pitch_40", "Duration_64", "PROMPT_END"]
    piece = ["STYLE_bach", "Bar", "Position_0", "Pitch_60", "Duration_4"]
    allowed = _allowed_names(rules, prompt + piece)
    positions = sorted(int(name.split("_")[1]) for name in allowed if name.startswith("Position_"))
    assert positions == list(range(0, 7)) and "Bar" not in allowed  # the note ends at 4, two steps of rest
    assert "Pitch_40" in allowed  # the prompt's long E2 is not part of the piece
    # With nothing placed yet, the rest counts from step 0.
    opening = _allowed_names(rules, prompt + ["STYLE_bach", "Bar"])
    assert "Position_2" in opening and "Position_3" not in opening
    with pytest.raises(UsageError, match="max_polyphony"):
        RemiNoteRules.from_tokenizer(COMPACT, max_polyphony=0)


def test_grammar_reads_the_bar_length_of_the_piece_not_of_the_prompt():
    prompt = [
        "PROMPT_START",
        "SECTION_A",
        "Bar",
        "TimeSignature_3/4",
        "Position_0",
        "Pitch_60",
        "Duration_4",
        "PROMPT_END",
    ]
    piece = ["Bar", "Position_11", "Pitch_60", "Duration_4"]
    reset = RemiGrammarMask.from_tokenizer(COMPACT, reset_token_ids=[COMPACT.prompt_end_id])
    # The piece has no signature, so it decodes in 4/4: positions 12..15 exist.
    assert "Position_12" in _allowed_names(reset, prompt + piece)
    assert "Position_12" not in _allowed_names(RemiGrammarMask.from_tokenizer(COMPACT), prompt + piece)


@pytest.mark.parametrize("cap", [3])
def test_rules_hold_in_the_compiled_loop_of_an_untrained_model(cap):
    tokenizer = COMPACT
    keras.utils.set_random_seed(2)
    model = MusicTransformer.from_preset(
        "tiny", vocabulary_size=tokenizer.vocabulary_size, max_sequence_length=64, end_id=None
    )
    brackets = range(tokenizer.bar_id)  # special, section, style and emotion tokens: an untrained model's favourites
    processors = [
        ForbiddenTokens(brackets),
        RemiGrammarMask.from_tokenizer(tokenizer, reset_token_ids=[tokenizer.prompt_end_id]),
        RemiNoteRules.from_tokenizer(tokenizer, max_polyphony=cap, no_duplicates=True, max_rest_steps=0),
    ]
    prompt = [tokenizer.prompt_start_id, tokenizer.prompt_end_id, tokenizer.style_token_id("bach")]
    outputs = model.generate([prompt] * 3, max_length=64, sampler="temperature", seed=4, processors=processors)
    notes_seen = 0
    for row in outputs:
        piece = tokenizer.decode_quantized(row[len(prompt) :])
        notes = [(note.pitch, note.start_step, note.end_step) for note in piece.notes]
        notes_seen += len(notes)
        sounding = np.zeros(max(end for _, _, end in notes), int)
        for pitch, start, end in notes:
            sounding[start:end] += 1
            # No other note of this pitch overlaps it.
            assert not [1 for p, s, e in notes if p == pitch and (s, e) != (start, end) and s < end and start < e]
        assert sounding.max() <= cap and (sounding > 0).all()
    assert notes_seen > 10


def test_note_rules_keep_the_notes_of_one_position_ascending():
    rules = RemiNoteRules.from_tokenizer(COMPACT, no_duplicates=False, ascending_pitches=True)
    allowed = _allowed_names(rules, ["Bar", "Position_0", "Pitch_48", "Duration_4", "Pitch_64", "Duration_4"])
    assert "Pitch_64" not in allowed and "Pitch_50" not in allowed and "Pitch_65" in allowed
    # A new position starts from the bottom again.
    assert "Pitch_40" in _allowed_names(rules, ["Bar", "Position_0", "Pitch_64", "Duration_4", "Position_4"])


def test_soft_key_lowers_out_of_key_pitches_without_forbidding_them():
    soft = KeyScaleMask([-1, 60, 61, 62], key="C", penalty=1.5, pitch_range=(60, 61))
    logits = _apply(soft, [[1.0, 1.0, 1.0, 1.0]], [[0]], 0)
    np.testing.assert_allclose(logits[0, :3], [1.0, 1.0, -0.5])
    assert logits[0, 3] == FORBIDDEN_LOGIT  # the range stays a hard limit
    with pytest.raises(UsageError, match="penalty"):
        KeyScaleMask([-1, 60], penalty=-1.0)


def test_processors_read_the_grammar_not_token_names():
    class Unnamed:
        """A tokenizer whose names cannot be read: the processors must not need them."""

        grammar = COMPACT.grammar
        vocabulary_size = COMPACT.vocabulary_size
        prompt_end_id = COMPACT.prompt_end_id

        def id_to_token(self, index):
            raise AssertionError("a processor read a token name")

    grammar = RemiGrammarMask.from_tokenizer(Unnamed())
    assert grammar.get_config() == RemiGrammarMask.from_tokenizer(COMPACT).get_config()
    rules = RemiNoteRules.from_tokenizer(Unnamed(), max_polyphony=2)
    assert rules.get_config() == RemiNoteRules.from_tokenizer(COMPACT, max_polyphony=2).get_config()
    key = KeyScaleMask.from_tokenizer(Unnamed(), key="C")
    assert key.token_pitches == COMPACT.token_pitches().tolist()
    with pytest.raises(UsageError, match="describes no grammar"):
        KeyScaleMask.from_tokenizer(object(), key="C")

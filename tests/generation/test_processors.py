"""Logits processors: hand-computed masks and penalties, and a grammar-masked REMI stream that decodes."""

import keras
import numpy as np
import pytest
from keras import ops

from musickit.errors import UsageError
from musickit.generation.processors import (
    FORBIDDEN_LOGIT,
    KeyScaleMask,
    NoRepeatNGram,
    RemiGrammarMask,
    RepetitionPenalty,
    combined_allowed_tokens,
    vocabulary_structure,
)
from musickit.generation.transformer_run import decode_piece
from musickit.models.music_transformer import MusicTransformer
from musickit.music.midi_io import write_midi
from musickit.representations.remi import REMITokenizer


def _apply(processor, logits, history, index):
    return np.asarray(ops.convert_to_numpy(processor(np.asarray(logits, "float32"), np.asarray(history, "int32"), index)))


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
    assert kinds[tokenizer.eos_id] == "other" and kinds[tokenizer.token_to_id("STYLE_bach")] == "other"
    grammar = RemiGrammarMask.from_tokenizer(tokenizer)
    assert grammar.token_values[tokenizer.token_to_id("TimeSignature_3/4")] == 12


def _check_remi_stream(names):
    """A reference checker for the grammar, written independently of the processor (plain Python)."""
    position, in_bar, bar_steps, previous = -1, False, 16, "start"
    follows = {"Pitch": {"Position", "Tempo", "Program", "Duration"}, "Velocity": {"Pitch"}, "Duration": {"Velocity"},
               "Program": {"Position", "Tempo", "Duration"}, "Tempo": {"Position"}, "TimeSignature": {"Bar"}}  # fmt: skip
    for name in names:
        family = name.split("_")[0] if name.split("_")[0] in {"Pitch", "Velocity", "Duration", "Program", "Tempo",
                                                                 "TimeSignature", "Position", "Bar"} else "other"  # fmt: skip
        if family in follows:
            assert previous in follows[family], f"{name} after {previous}"
        if previous in ("Position", "Program", "Pitch", "Velocity"):
            assert family in {"Position": {"Tempo", "Program", "Pitch"}, "Program": {"Pitch"}, "Pitch": {"Velocity"},
                              "Velocity": {"Duration"}}[previous], f"{name} after {previous}"  # fmt: skip
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
    model = MusicTransformer.from_preset("tiny", vocabulary_size=tokenizer.vocabulary_size, max_sequence_length=32,
                                         end_id=tokenizer.eos_id)  # fmt: skip
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

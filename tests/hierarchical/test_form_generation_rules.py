"""Hierarchical generation's rules: whole-bar sections, the reprise (copied, or recalled: written with its first
statement as context, as the recall training windows show it), snippet-fitted sampling, the form contrast's
confidence interval, and the cpu preset's end-to-end schedule."""

import math

import pytest

from musickit.data.dataset import EncodedSplit
from musickit.errors import UsageError
from musickit.families.hierarchical_transformer.config import FAMILY_SAMPLING, HierarchicalConfig
from musickit.families.hierarchical_transformer.generation import piece_sampling, snippet_voices
from musickit.families.hierarchical_transformer.pipeline import with_recall_windows
from musickit.generation.form_writing import write_in_form
from musickit.metrics.generated_forms import mean_interval
from musickit.representations.remi import REMITokenizer

TOKENIZER = REMITokenizer(num_velocity_bins=0, use_programs=False)


def ids(*tokens):
    return [TOKENIZER.token_to_id(token) for token in tokens]


def bars_writer(calls):
    """A "model" that writes one-note bars (Position_0 Pitch_60 Duration_16 Bar ...) until its limit."""

    def continue_piece(prefix, max_length, stop_token_ids):
        calls.append(list(prefix))
        return (list(prefix) + ids("Position_0", "Pitch_60", "Duration_16", "Bar") * 20)[:max_length]

    return continue_piece


def test_sections_open_with_a_bar_keep_whole_bars_and_the_reprise_copies_the_first_statement():
    calls = []
    piece = write_in_form(bars_writer(calls), TOKENIZER, "ABA", 10, 200, bars_per_section=4, reprise="copy")
    names = [TOKENIZER.id_to_token(token) for token in piece]
    # 10 tokens after SECTION Bar: two whole bars and a third cut short, which is dropped.
    section = ["Bar", "Position_0", "Pitch_60", "Duration_16"] * 2
    assert names == ["SECTION_A", *section, "SECTION_B", *section, "SECTION_A", *section]
    assert len(calls) == 2  # the returning A is not written again


def test_at_most_bars_per_section_and_no_reprise_writes_every_section():
    calls = []
    piece = write_in_form(bars_writer(calls), TOKENIZER, "ABA", 40, 400, bars_per_section=2)
    names = [TOKENIZER.id_to_token(token) for token in piece]
    assert names.count("Bar") == 6 and len(calls) == 3
    with pytest.raises(UsageError, match="reprise"):
        write_in_form(bars_writer([]), TOKENIZER, "AB", 4, 100, reprise="twice")


def test_a_recalled_section_is_written_after_its_first_statement_without_the_sections_between():
    contexts = []

    def continue_piece(prefix, max_length, stop_token_ids):  # call n writes one-note bars of pitch 60 + 2n
        contexts.append(list(prefix))
        bar = ids("Position_0", f"Pitch_{58 + 2 * len(contexts)}", "Duration_16", "Bar")
        return (list(prefix) + bar * 20)[:max_length]

    piece = write_in_form(continue_piece, TOKENIZER, "ABA", 8, 400, style="bach", bars_per_section=2, reprise="recall")

    def section(letter, pitch):  # two whole bars: the third, cut short by the 8-token limit, is dropped
        return [f"SECTION_{letter}", *["Bar", "Position_0", f"Pitch_{pitch}", "Duration_16"] * 2]

    assert [TOKENIZER.id_to_token(token) for token in piece] == [
        "STYLE_bach",
        *section("A", 60),
        *section("B", 62),
        *section("A", 64),  # the model wrote it: not a copy
    ]
    assert contexts[2] == ids("STYLE_bach", *section("A", 60), "SECTION_A", "Bar")  # no B in its context


def test_recall_windows_put_the_first_statement_right_before_its_return():
    piece = ids("STYLE_bach", "SECTION_A", "Bar", "Pitch_60", "Duration_16")
    piece += ids("SECTION_B", "Bar", "Pitch_62", "Duration_16", "SECTION_A", "Bar", "Pitch_60", "Duration_16")
    short = ids("STYLE_bach", "SECTION_A", "Bar", "Pitch_60", "Duration_16", "SECTION_A", "Bar")
    split = EncodedSplit([piece, short], [{"name": "ABA"}, {"name": "AA"}])
    windows = with_recall_windows(split, sequence_length=10, tokenizer=TOKENIZER)
    # 13 tokens > 10: one more sequence, the style, the first A, the returning A (9 tokens, B left out);
    # the 7-token piece fits in one window as it is.
    assert len(windows) == 3 and windows.metadata[2] == {"name": "ABA"}
    expected = ids("STYLE_bach", "SECTION_A", "Bar", "Pitch_60", "Duration_16", "SECTION_A", "Bar", "Pitch_60")
    assert list(windows[2]) == expected + ids("Duration_16")


def test_piece_sampling_takes_the_voices_and_the_key_of_the_snippets():
    chord = ids("Bar", "Position_0", "Pitch_60", "Duration_4", "Pitch_64", "Duration_4", "Pitch_67", "Duration_4")
    tune = ids("Bar", "Position_0", "Pitch_62", "Duration_4", "Position_4", "Pitch_64", "Duration_4")
    assert snippet_voices(TOKENIZER, {"A": chord, "B": tune}) == 3
    folk, prompt = piece_sampling(FAMILY_SAMPLING, TOKENIZER, {"A": tune, "B": tune})
    assert folk.max_polyphony == 1 and prompt == tune + tune
    chorale, _ = piece_sampling(FAMILY_SAMPLING, TOKENIZER, {"A": chord})
    assert chorale.max_polyphony == 3 and chorale.no_duplicates and chorale.key == "auto"
    uncapped, _ = piece_sampling(FAMILY_SAMPLING.replace(max_polyphony=0), TOKENIZER, {"A": tune})
    assert uncapped.max_polyphony == 0


def test_mean_interval_is_the_student_t_interval_and_needs_two_values():
    low, high = mean_interval([1.0, 2.0, 3.0, float("nan")])
    # mean 2, standard error 1/sqrt(3), t(0.975, 2) = 4.303
    half = 4.3027 / math.sqrt(3)
    assert low == pytest.approx(2 - half, abs=1e-3) and high == pytest.approx(2 + half, abs=1e-3)
    assert all(math.isnan(bound) for bound in mean_interval([1.0]))


def test_cpu_preset_trains_end_to_end_on_compact_remi_and_smoke_keeps_every_stage():
    cpu = HierarchicalConfig.preset("cpu")
    assert cpu.stages == "E" and cpu.num_velocity_bins == 0 and not cpu.use_programs
    assert cpu.sampling == FAMILY_SAMPLING and cpu.reprise == "recall" and cpu.copy_head and cpu.recall_windows
    assert HierarchicalConfig.preset("smoke").stages == "E"
    with pytest.raises(UsageError, match="--reprise"):
        HierarchicalConfig(reprise="twice")

"""``musickit generate``: --bars for the token families, and flags a family would ignore refused in one line."""

import json

import pytest
from tiny_runs import write_hierarchical_run, write_transformer_run

from musickit.cli import main
from musickit.demo.runs import piece_bars


def write_run(folder, model, **info):
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"model": model, **info}))
    return str(folder)


@pytest.mark.parametrize(
    "model, flags, message",
    [
        (
            "music_transformer",
            ["--snippet", "A=opening.mid"],
            "--snippet: music_transformer runs take no snippets; only hierarchical_transformer runs do",
        ),
        (
            "piano_roll_lstm",
            ["--snippet", "B=bridge.mid"],
            "--snippet: piano_roll_lstm runs take no snippets; only hierarchical_transformer runs do",
        ),
        (
            "vae_gan",
            ["--form", "ABA"],
            "--form: vae_gan runs take no form; only hierarchical_transformer runs do",
        ),
        (
            "hierarchical_transformer",
            ["--primer", "tune.mid"],
            "--primer: hierarchical_transformer runs take no primer; only piano_roll_lstm, music_transformer, "
            "mel_diffusion runs do",
        ),
        ("piano_roll_lstm", ["--bars", "0"], "--bars must be at least 1, got 0"),
        (
            "vae_gan",
            ["--bars", "5"],
            "--bars 5: this VAE writes pieces of at most 4 bars (its training segments)",
        ),
    ],
)
def test_a_flag_the_family_would_ignore_is_one_line(model, flags, message, tmp_path, capsys):
    run = write_run(tmp_path / model, model, config={"bars_per_segment": 4})
    for flag in flags:
        if flag.endswith(".mid"):  # the snippet or primer file exists; the family is what refuses it
            (tmp_path / flag.split("=")[-1]).write_bytes(b"")
    flags = [str(tmp_path / flag) if flag.endswith(".mid") and "=" not in flag else flag for flag in flags]
    flags = [f"{flag[:2]}{tmp_path / flag[2:]}" if "=" in flag else flag for flag in flags]
    assert main(["generate", "--run", run, *flags]) == 2  # refused before any model is loaded (there is none)
    error = capsys.readouterr().err.strip()
    assert error == f"musickit generate: error: {message}"


def test_a_transformer_piece_ends_after_its_bars(tmp_path, capsys):
    run = write_transformer_run(tmp_path / "music_transformer")
    output = tmp_path / "pieces"
    flags = ["--output-dir", str(output), "--num-samples", "1", "--seed", "1"]
    assert main(["generate", "--run", run, "--bars", "2", *flags]) == 0
    pieces = sorted(output.glob("*.mid"))
    assert len(pieces) == 1 and 1 <= piece_bars(str(pieces[0])) <= 2


def test_a_hierarchical_run_spreads_the_bars_over_its_sections(tmp_path, monkeypatch):
    from musickit.families.hierarchical_transformer import generation as family_generation
    from musickit.representations.remi import REMITokenizer

    run = write_hierarchical_run(tmp_path / "hierarchical")
    written, original = [], family_generation.write_pieces

    def recording(model, tokenizer, config, *args, **kwargs):
        pieces = original(model, tokenizer, config, *args, **kwargs)
        written.append((config, kwargs["end_sections_at_bars"], pieces))
        return pieces

    monkeypatch.setattr(family_generation, "write_pieces", recording)
    assert main(["generate", "--run", run, "--bars", "3", "--num-samples", "1", "--output-dir", str(tmp_path)]) == 0
    ((config, ended, pieces),) = written
    assert (config.form, config.bars_per_section, ended) == ("AB", 2, True)  # 3 bars over 2 sections: 2 each
    assert config.tokens_per_section == 32 // 2  # the bars end each section; its context is the budget
    tokenizer = REMITokenizer()
    sections, bars = [], 0
    for token in pieces[0][0]:
        if tokenizer.token_type(token) == "SECTION":
            sections.append(bars)
            bars = 0
        bars += token == tokenizer.bar_id
    sections = sections[1:] + [bars]
    assert len(sections) == 2 and all(1 <= count <= 2 for count in sections)

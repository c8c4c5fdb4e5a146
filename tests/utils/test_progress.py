"""Progress bars count what they go through (parsing a corpus, writing samples) and keep quiet in logs."""

import io
import os

import numpy as np
import pytest
from conftest import make_score

from musickit.data.sources import base as source_base
from musickit.data.sources.midi_folder import MidiFolderSource
from musickit.families.piano_roll_lstm import generation as piano_roll_generation
from musickit.music.midi_io import write_midi
from musickit.representations.piano_roll import PianoRoll
from musickit.runs import samples as sample_files
from musickit.utils.progress import progress, progress_enabled


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_bar_shows_and_reaches_its_count():
    shown = io.StringIO()
    bar = progress(range(3), "parsing bach", enabled=True, file=shown)
    assert list(bar) == [0, 1, 2]
    assert (bar.n, bar.total) == (3, 3)
    assert "parsing bach" in shown.getvalue() and "0/3" in shown.getvalue()


@pytest.mark.parametrize(
    "setting, ci, stream, shown",
    [
        ("", "", Terminal(), True),
        ("", "", io.StringIO(), False),  # output sent to a file or a pipe
        ("", "true", Terminal(), False),
        ("0", "", Terminal(), False),
        ("1", "true", io.StringIO(), True),  # asked for explicitly
    ],
)
def test_bars_are_quiet_in_ci_and_off_a_terminal(monkeypatch, setting, ci, stream, shown):
    monkeypatch.setenv("MUSICKIT_PROGRESS", setting)
    monkeypatch.setenv("CI", ci)
    assert progress_enabled(stream) is shown
    assert progress([1], "x", file=stream).disable is not shown


def recorded_bars(monkeypatch, module):
    """Replace ``module.progress`` by one that keeps each bar it makes (shown, into a string)."""
    bars = []

    def keeping(iterable, description, total=None, enabled=None):
        bars.append(progress(iterable, description, total, enabled=True, file=io.StringIO()))
        return bars[-1]

    monkeypatch.setattr(module, "progress", keeping)
    return bars


def test_writing_samples_reports_its_count(tmp_path, monkeypatch):
    bars = recorded_bars(monkeypatch, sample_files)  # the families write through musickit.runs.samples
    rolls = np.zeros((2, 4, 88), "float32")
    rolls[:, :, 39] = 1.0  # middle C throughout
    written = piano_roll_generation.write_samples(rolls, 2, PianoRoll(steps_per_quarter=1), str(tmp_path), qpm=120)
    assert len(written) == 2
    assert [(bar.n, bar.total) for bar in bars] == [(2, 2)]


def test_the_first_parse_reports_its_count(tmp_path, monkeypatch):
    for index in range(3):
        write_midi(make_score([(60 + index, 80, 0.0, 1.0)]), os.path.join(tmp_path, f"piece_{index}.mid"))
    bars = recorded_bars(monkeypatch, source_base)
    collection = MidiFolderSource(str(tmp_path)).read_scores()
    assert len(collection.pieces) == 3
    assert [(bar.n, bar.total) for bar in bars] == [(3, 3)]

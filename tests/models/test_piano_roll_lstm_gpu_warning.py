"""One warning, once, when recurrent dropout would turn off cuDNN on a GPU."""

import warnings

from musickit.models import piano_roll_lstm
from musickit.models.piano_roll_lstm import PianoRollLSTM


def test_recurrent_dropout_on_a_gpu_warns_once(monkeypatch):
    monkeypatch.setattr(piano_roll_lstm, "_gpu_visible", lambda: True)
    monkeypatch.setattr(piano_roll_lstm, "_warned_about_recurrent_dropout", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PianoRollLSTM(lstm_units=8, recurrent_dropout=0.2)
        PianoRollLSTM(lstm_units=8, recurrent_dropout=0.2)
    messages = [str(warning.message) for warning in caught if "cuDNN" in str(warning.message)]
    assert len(messages) == 1 and "recurrent_dropout=0.2" in messages[0] and "20x" in messages[0]


def test_no_warning_without_recurrent_dropout_or_without_a_gpu(monkeypatch):
    monkeypatch.setattr(piano_roll_lstm, "_warned_about_recurrent_dropout", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        monkeypatch.setattr(piano_roll_lstm, "_gpu_visible", lambda: True)
        PianoRollLSTM(lstm_units=8, recurrent_dropout=0.0)
        monkeypatch.setattr(piano_roll_lstm, "_gpu_visible", lambda: False)
        PianoRollLSTM(lstm_units=8, recurrent_dropout=0.2)
    assert not [warning for warning in caught if "cuDNN" in str(warning.message)]

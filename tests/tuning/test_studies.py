"""The study registry: every study of the issue, honest status, and spaces that drive the hypermodels."""

import pytest

from musickit.errors import UsageError
from musickit.tuning.hypermodels import PianoRollLSTMHyperModel
from musickit.tuning.studies import (
    HIERARCHICAL_TRANSFORMER,
    MUSIC_TRANSFORMER,
    PIANO_ROLL_LSTM,
    STUDIES,
    Study,
    get_study,
    study_table,
)


def test_every_study_of_the_research_plan_is_registered():
    families = {name: study.family for name, study in STUDIES.items()}
    assert families["lstm_size"] == families["frame_head"] == PIANO_ROLL_LSTM
    assert families["loss"] == families["lr_schedule"] == MUSIC_TRANSFORMER
    for name in ("encoder_size", "snippet_length", "staging", "contrastive"):
        assert STUDIES[name].family == HIERARCHICAL_TRANSFORMER and get_study(name).available
    # The research plan's grids are kept (GPU-scale); the smoke grids are tiny.
    assert STUDIES["encoder_size"].size() == 9 and STUDIES["snippet_length"].size() == 4
    assert STUDIES["encoder_size"].size(smoke=True) == STUDIES["snippet_length"].size(smoke=True) == 2
    assert STUDIES["staging"].values(smoke=True) == {"training": ("staged", "end_to_end")}


def test_unavailable_and_unknown_studies_are_one_line_errors():
    waiting = Study("memory", HIERARCHICAL_TRANSFORMER, {"num_memory_vectors": (1, 4)}, status="needs issue 9")
    STUDIES["memory"] = waiting
    try:
        with pytest.raises(UsageError, match=r"study 'memory' \(\) needs issue 9; it is not available yet"):
            get_study("memory")
    finally:
        del STUDIES["memory"]
    with pytest.raises(UsageError, match="unknown study 'size'"):
        get_study("size")


def test_a_boolean_grid_is_a_boolean_hyperparameter():
    space = get_study("contrastive").hyperparameters()
    assert [(type(entry).__name__, entry.default) for entry in space.space] == [("Boolean", True)]
    assert space.get("contrastive_pretraining") is True


def test_study_space_is_a_choice_per_hyperparameter():
    space = get_study("lstm_size").hyperparameters()
    assert {hp.name: hp.values for hp in space.space} == {"lstm_units": [128, 256, 512], "num_layers": [1, 2, 3]}
    assert get_study("lstm_size").size(smoke=True) == 2
    assert get_study("loss").values(smoke=True) == {"loss": ("cross_entropy", "focal")}  # the first two values


def test_a_new_study_is_a_few_lines_and_holds_everything_else_at_the_defaults():
    study = Study("dropout", PIANO_ROLL_LSTM, {"dropout": (0.0, 0.4)}, description="LSTM input dropout")
    hp = study.hyperparameters()
    assert [(type(entry).__name__, entry.name) for entry in hp.space] == [("Choice", "dropout")]
    model = PianoRollLSTMHyperModel(defaults={"lstm_units": 8, "dense_units": 8}).build(hp)
    assert model.dropout == 0.0 and model.lstm_units == 8 and model.recurrent_dropout == 0.2


def test_study_table_lists_status():
    table = study_table()
    assert table.count("\n") == len(STUDIES) + 1
    row = "| `lstm_size` | piano_roll_lstm | lstm_units [128, 256, 512]; num_layers [1, 2, 3] | 9 | available |"
    assert row in table

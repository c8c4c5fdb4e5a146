"""Study results as CSV / Markdown / PNG, and the distributed settings Keras Tuner reads."""

import csv

import pytest

from musickit.errors import UsageError
from musickit.tuning import distributed
from musickit.tuning.results import failure_reason, markdown_table, plot_objective, sort_rows, write_csv

ROWS = [
    {"trial": "0", "status": "COMPLETED", "objective": 2.5, "best_epoch": 3, "lstm_units": 128, "dropout": 0.3},
    {"trial": "1", "status": "FAILED", "objective": None, "lstm_units": 512, "reason": "out of memory | OOM"},
    {"trial": "2", "status": "COMPLETED", "objective": 1.5, "best_epoch": 1, "lstm_units": 256, "dropout": 0.3},
]


def test_rows_sort_best_first_with_failures_last():
    assert [row["trial"] for row in sort_rows(ROWS, "min")] == ["2", "0", "1"]
    assert [row["trial"] for row in sort_rows(ROWS, "max")] == ["0", "2", "1"]


def test_failure_reason_is_the_last_line_of_the_traceback():
    message = "Traceback (most recent call last):\n  File x\nFailedTrialError: loss became nan at batch 0\n\n"
    assert failure_reason(message) == "FailedTrialError: loss became nan at batch 0"
    assert failure_reason(None) == ""


def test_csv_has_every_hyperparameter_and_the_reason(tmp_path):
    write_csv(sort_rows(ROWS), tmp_path / "results.csv", tuned=["lstm_units"])
    with open(tmp_path / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["trial", "status", "objective", "best_epoch", "lstm_units", "dropout", "reason"]
    assert [(row["trial"], row["objective"], row["dropout"], row["reason"]) for row in rows] == [
        ("2", "1.5", "0.3", ""),
        ("0", "2.5", "0.3", ""),
        ("1", "", "", "out of memory | OOM"),
    ]


def test_markdown_table_ranks_completed_trials():
    table = markdown_table(sort_rows(ROWS), "val_nll", tuned=["lstm_units"]).splitlines()
    assert table[0] == "| rank | trial | lstm_units | val_nll | epoch | status |"
    assert table[2] == "| 1 | 2 | 256 | 1.5 | 1 | COMPLETED |"
    assert table[4] == "| - | 1 | 512 |  |  | FAILED: out of memory / OOM |"  # a '|' would break the table


def test_plot_is_a_png(tmp_path):
    path = plot_objective(ROWS, tmp_path / "results.png", "val_nll", ["lstm_units", "dropout"])
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_configure_sets_keras_tuner_variables():
    environment = {}
    distributed.configure("chief", "0.0.0.0:8000", environment=environment)
    assert environment == {
        "KERASTUNER_TUNER_ID": "chief",
        "KERASTUNER_ORACLE_IP": "0.0.0.0",
        "KERASTUNER_ORACLE_PORT": "8000",
    }
    assert distributed.role_from_environment(environment) == "chief"
    distributed.configure("worker", "10.0.0.1:8000", worker_id="gpu1", environment=environment)
    assert environment["KERASTUNER_TUNER_ID"] == "worker-gpu1"
    assert distributed.role_from_environment(environment) == "worker"
    assert distributed.role_from_environment({}) is None


@pytest.mark.parametrize("address", ["nohost", "host:", ":80", "host:99999", "host:http"])
def test_bad_addresses_are_usage_errors(address):
    with pytest.raises(UsageError, match="use HOST:PORT"):
        distributed.parse_address(address)


def test_partial_environment_and_chief_worker_ids_are_refused():
    with pytest.raises(UsageError, match="KERASTUNER_TUNER_ID"):
        distributed.role_from_environment({"KERASTUNER_ORACLE_IP": "1.2.3.4", "KERASTUNER_ORACLE_PORT": "80"})
    with pytest.raises(UsageError, match="must not contain 'chief'"):
        distributed.configure("worker", "1.2.3.4:80", worker_id="chief2", environment={})

"""--resume refuses a run folder trained on other data (its fingerprint in run.json), in one line."""

import json

import pytest

from musickit.errors import UsageError
from musickit.runs.folder import DATA_FINGERPRINT_KEY, RunFolder, data_fingerprint

INFO = {"model": "test", "model_config": {"units": 4}, "representation": {"steps": 4}}
PIECES = {"train": ["bwv1", "bwv2", "bwv3"], "valid": ["bwv4"], "test": ["bwv5"]}


def with_data(source="bach", pieces=PIECES):
    return {**INFO, DATA_FINGERPRINT_KEY: data_fingerprint(source, pieces)}


def refusal(run, info):
    with pytest.raises(UsageError) as error:
        RunFolder(run.path).start(info, resume=True)
    message = str(error.value)
    assert len(message.splitlines()) == 1, message
    return message


def test_the_fingerprint_counts_pieces_and_tells_names_apart():
    fingerprint = data_fingerprint("bach", PIECES)
    assert fingerprint["source"] == "bach"
    counts = {name: split["pieces"] for name, split in fingerprint["splits"].items()}
    assert counts == {"train": 3, "valid": 1, "test": 1}
    assert fingerprint == data_fingerprint("bach", {name: list(names) for name, names in PIECES.items()})
    renamed = data_fingerprint("bach", {**PIECES, "valid": ["bwv9"]})
    assert renamed["splits"]["valid"] != fingerprint["splits"]["valid"]
    assert renamed["splits"]["train"] == fingerprint["splits"]["train"]


def test_resume_refuses_other_data_naming_what_differs(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.start(with_data())  # interrupted: never finished
    assert json.loads(open(run.info_path).read())[DATA_FINGERPRINT_KEY]["splits"]["train"]["pieces"] == 3
    assert "trained on data 'bach', not 'essen'" in refusal(run, with_data("essen"))
    fewer = refusal(run, with_data(pieces={**PIECES, "train": ["bwv1", "bwv2"]}))
    assert "train 3 pieces, now 2" in fewer and "valid" not in fewer
    assert "other piece names in valid" in refusal(run, with_data(pieces={**PIECES, "valid": ["bwv9"]}))
    assert RunFolder(run.path).start(with_data(), resume=True) is False  # the same data resumes


def test_a_run_from_before_fingerprints_still_resumes_and_then_has_one(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.start(INFO)  # as an older musickit wrote it: no fingerprint in run.json
    assert DATA_FINGERPRINT_KEY not in json.loads(open(run.info_path).read())
    RunFolder(run.path).start(with_data(), resume=True)
    assert DATA_FINGERPRINT_KEY in json.loads(open(run.info_path).read())
    assert "not 'essen'" in refusal(run, with_data("essen"))

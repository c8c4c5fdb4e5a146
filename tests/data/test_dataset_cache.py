import os

import numpy as np
import pytest
from data_helpers import write_tunes

from musickit.data import cache
from musickit.data.dataset import load_dataset
from musickit.data.sources import MidiFolderSource
from musickit.representations.piano_roll import PianoRoll


@pytest.fixture
def parse_counter(monkeypatch):
    """Counts every MIDI file a folder source parses."""
    calls = []
    original = MidiFolderSource.read

    def counting_read(self, entry):
        calls.append(entry.name)
        return original(self, entry)

    monkeypatch.setattr(MidiFolderSource, "read", counting_read)
    return calls


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("MUSICKIT_CACHE_DIR", str(folder))
    return folder


def test_second_load_reads_the_cache_instead_of_parsing(tmp_path, parse_counter, private_cache):
    folder = tmp_path / "midi"
    write_tunes(folder)
    first = load_dataset(str(folder), PianoRoll(), seed=0)
    assert len(parse_counter) == 4 and not first.from_cache
    second = load_dataset(str(folder), PianoRoll(), seed=0)
    assert len(parse_counter) == 4 and second.from_cache
    for split in ("train", "valid", "test"):
        assert [m["name"] for m in first.split(split).metadata] == [m["name"] for m in second.split(split).metadata]
        for before, after in zip(first.split(split), second.split(split)):
            np.testing.assert_array_equal(before, after)
            assert after.dtype == np.float32
    # One finished .npz entry, no temporary leftovers from the atomic write.
    assert [name.endswith(".npz") and not name.startswith(".") for name in os.listdir(private_cache / "encoded")] == [
        True
    ]


def test_another_seed_reuses_the_cache(tmp_path, parse_counter, private_cache):
    folder = tmp_path / "midi"
    write_tunes(folder)
    load_dataset(str(folder), PianoRoll(), seed=0)
    assert load_dataset(str(folder), PianoRoll(), seed=7).from_cache
    assert len(parse_counter) == 4


def test_representation_config_and_file_changes_invalidate_the_cache(tmp_path, parse_counter, private_cache):
    folder = tmp_path / "midi"
    paths = write_tunes(folder)
    load_dataset(str(folder), PianoRoll(), seed=0)
    assert not load_dataset(str(folder), PianoRoll(steps_per_quarter=2), seed=0).from_cache
    assert len(parse_counter) == 8
    status = os.stat(paths[0])
    os.utime(paths[0], ns=(status.st_atime_ns, status.st_mtime_ns + 10**9))
    assert not load_dataset(str(folder), PianoRoll(), seed=0).from_cache
    write_tunes(folder / "more", ["one"])
    assert not load_dataset(str(folder), PianoRoll(), seed=0).from_cache
    assert len(parse_counter) == 8 + 4 + 5


def test_a_damaged_cache_entry_is_rebuilt(tmp_path, parse_counter, private_cache):
    folder = tmp_path / "midi"
    write_tunes(folder)
    load_dataset(str(folder), PianoRoll(), seed=0)
    (entry,) = (private_cache / "encoded").iterdir()
    entry.write_bytes(b"half a file")
    assert not load_dataset(str(folder), PianoRoll(), seed=0).from_cache
    assert len(parse_counter) == 8


def test_save_and_load_arrays_round_trip(tmp_path):
    arrays = [np.arange(6, dtype=np.int32), np.arange(3, dtype=np.int32), np.zeros(0, dtype=np.int32)]
    path = str(tmp_path / "entry.npz")
    cache.save_arrays(path, arrays, {"items": [1, 2]})
    loaded, info = cache.load_arrays(path)
    assert [array.tolist() for array in loaded] == [[0, 1, 2, 3, 4, 5], [0, 1, 2], []]
    assert info == {"items": [1, 2]}
    assert cache.load_arrays(str(tmp_path / "absent.npz")) is None


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MUSICKIT_CACHE_DIR", str(tmp_path))
    assert cache.cache_dir() == str(tmp_path)
    monkeypatch.delenv("MUSICKIT_CACHE_DIR")
    assert cache.cache_dir() == os.path.join(os.path.expanduser("~"), ".cache", "musickit")

"""Boulanger-Lewandowski et al. (2012) polyphonic benchmark files (``.mat``/``.pkl``) as a data source.

The published files hold train/valid/test splits of 88-key 0/1 piano rolls
on a quarter-note grid; :class:`BenchmarkFileSource` keeps that split and
turns each roll into a score (:func:`roll_to_score`), one quarter note per
frame at 120 qpm. ``.pkl`` files are read with :class:`SafeUnpickler`, which
builds only numbers, strings, containers and numpy arrays.

Example:

>>> rolls = load_benchmark_rolls("JSB_Chorales.mat")  # doctest: +SKIP
>>> sorted(rolls), rolls["train"][0].shape  # doctest: +SKIP
(['test', 'train', 'valid'], (129, 88))
"""

import os
import pickle
import re

import numpy as np

from musickit.data.sources.base import SPLIT_NAMES, Entry, Source, first_error_line
from musickit.errors import DataSourceError
from musickit.music.score import Note, Score, TempoChange, TimeSignature

BENCHMARK_SUFFIXES = (".mat", ".pkl", ".pickle")
BENCHMARK_LOWEST_PITCH = 21  # column k of a published roll is MIDI pitch k + 21
BENCHMARK_QPM = 120.0  # the published rolls carry no tempo; one frame is one quarter note

__all__ = [
    "BENCHMARK_LOWEST_PITCH",
    "BENCHMARK_QPM",
    "BENCHMARK_SUFFIXES",
    "BenchmarkFileSource",
    "SAFE_PICKLE_GLOBALS",
    "SafeUnpickler",
    "load_benchmark_rolls",
    "roll_to_score",
]


class BenchmarkFileSource(Source):
    """A Boulanger-Lewandowski et al. (2012) polyphonic benchmark file.

    ``.mat`` files hold ``traindata``/``validdata``/``testdata`` (or
    ``train``/``valid``/``test``), each a ``(1, N)`` object array of ``(T, 88)``
    0/1 rolls; ``.pkl`` files hold the same splits as lists of sequences of
    frames, each frame a list of sounding MIDI pitches. Every frame becomes
    one quarter note at 120 qpm, so ``PianoRoll(steps_per_quarter=1)``
    reproduces the published rolls exactly.
    """

    has_published_splits = True

    def __init__(self, path, max_files=None):
        super().__init__(os.path.abspath(path), max_files)
        self.path = os.path.abspath(path)
        self.style = re.sub(r"[^a-z0-9]+", "_", os.path.splitext(os.path.basename(path))[0].lower()).strip("_")
        self._rolls = None

    def rolls(self):
        """``{"train": [roll, ...], "valid": [...], "test": [...]}`` as uint8 ``(T, 88)`` arrays."""
        if self._rolls is None:
            self._rolls = load_benchmark_rolls(self.path)
        return self._rolls

    def all_entries(self):
        return [
            Entry(f"{split}/{index:04d}", self.path, index, split)
            for split in SPLIT_NAMES
            for index in range(len(self.rolls()[split]))
        ]

    def entries(self):
        # max_files applies per split, so a small smoke run still has all three.
        entries = self.all_entries()
        if self.max_files is None:
            return entries
        return [entry for entry in entries if entry.number < self.max_files]

    def fingerprint(self):
        status = os.stat(self.path)
        return {"file": self.path, "size": status.st_size, "mtime": status.st_mtime_ns, "max_files": self.max_files}

    def read(self, entry):
        score = roll_to_score(self.rolls()[entry.split][entry.number])
        score.metadata.update(name=entry.name, style=self.style)
        return score


def load_benchmark_rolls(path, handle=None):
    """Read a ``.mat``/``.pkl`` benchmark file into ``{split: [uint8 (T, 88) roll, ...]}``.

    ``handle`` is an open binary file to read instead of opening ``path``
    (TFDS builders pass one from ``tf.io.gfile``); ``path`` then only names it.
    """
    path = os.fspath(path)
    try:
        if handle is None:
            with open(path, "rb") as handle:
                return _read_benchmark(path, handle)
        return _read_benchmark(path, handle)
    except DataSourceError as error:
        if str(error).startswith(path):
            raise
        raise DataSourceError(f"{path}: {error}") from None
    except Exception as error:  # noqa: BLE001 - any loader failure means "not a benchmark file"
        raise DataSourceError(
            f"{path}: not a readable polyphonic benchmark file ({first_error_line(error)}); expected the published "
            f".mat or .pkl files with train/valid/test splits"
        ) from None


def _read_benchmark(path, handle):
    if path.lower().endswith(".mat"):
        import scipy.io

        splits = _pick_splits(scipy.io.loadmat(handle), path)
        return {
            split: [np.asarray(roll, dtype=np.uint8) for roll in np.ravel(value)] for split, value in splits.items()
        }
    raw = SafeUnpickler(handle, encoding="latin1").load()  # the original files are Python 2 pickles
    splits = _pick_splits(raw, path)
    return {split: [_pitch_sets_to_roll(sequence) for sequence in value] for split, value in splits.items()}


# What the published polyphonic pickles (and numpy-array variants of them) are made of: containers, numbers,
# strings and numpy arrays. Python 2 pickles name the builtins "__builtin__".
SAFE_PICKLE_GLOBALS = frozenset(
    [
        (module, name)
        for module in ("builtins", "__builtin__")
        for name in (
            "dict",
            "list",
            "tuple",
            "set",
            "frozenset",
            "int",
            "long",
            "float",
            "complex",
            "str",
            "unicode",
            "bytes",
            "bytearray",
            "bool",
        )
    ]
    + [
        (module, name)
        for module in ("numpy.core.multiarray", "numpy._core.multiarray")
        for name in ("_reconstruct", "scalar")
    ]
    + [
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("copy_reg", "_reconstructor"),
        ("copyreg", "_reconstructor"),
        ("_codecs", "encode"),
    ]  # protocol-2 pickles store an array's bytes as encode(text, "latin1")
)


class SafeUnpickler(pickle.Unpickler):
    """A ``pickle.Unpickler`` that builds only numbers, strings, containers and numpy arrays.

    ``pickle.load`` runs whatever code a file names, so a crafted ``.pkl`` could run a command; this one
    refuses any other global in one line (a :class:`DataSourceError`) before anything is called.

    Example:

    >>> import io
    >>> SafeUnpickler(io.BytesIO(pickle.dumps({"train": [[[60, 64]]]}))).load()
    {'train': [[[60, 64]]]}
    """

    def find_class(self, module, name):
        if (module, name) not in SAFE_PICKLE_GLOBALS:
            raise DataSourceError(
                f"refused to unpickle {module}.{name}: a polyphonic benchmark file holds only "
                "numbers, lists and arrays, so this file is not one (or was crafted to run code)"
            )
        if (module, name) in (("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor")):
            return _safe_reconstructor
        return super().find_class(module, name)


_PLAIN_TYPES = (dict, list, tuple, set, frozenset, int, float, complex, str, bytes, bytearray, bool, object)


def _safe_reconstructor(cls, base, state):
    """``copyreg._reconstructor`` limited to plain containers and numbers (it would otherwise call any ``base``)."""
    if cls not in _PLAIN_TYPES or base not in _PLAIN_TYPES:
        raise DataSourceError(f"refused to unpickle an object of {getattr(cls, '__qualname__', cls)!s}")
    import copyreg

    return copyreg._reconstructor(cls, base, state)


def _pick_splits(raw, path):
    if not isinstance(raw, dict):
        raise DataSourceError(f"{path}: expected a dictionary of splits, found a {type(raw).__name__}")
    splits = {}
    for split in SPLIT_NAMES:
        key = next((key for key in (f"{split}data", split) if key in raw), None)
        if key is None:
            raise DataSourceError(
                f"{path}: no {split!r} split (looked for keys {split}data and {split}); "
                f"expected the published train/valid/test benchmark file"
            )
        splits[split] = raw[key]
    return splits


def _pitch_sets_to_roll(sequence, lowest=BENCHMARK_LOWEST_PITCH, width=88):
    roll = np.zeros((len(sequence), width), dtype=np.uint8)
    for step, pitches in enumerate(sequence):
        columns = [int(pitch) - lowest for pitch in pitches if 0 <= int(pitch) - lowest < width]
        roll[step, columns] = 1
    return roll


def roll_to_score(roll, lowest_pitch=BENCHMARK_LOWEST_PITCH, qpm=BENCHMARK_QPM, steps_per_quarter=1):
    """A :class:`Score` from a 0/1 ``(T, keys)`` roll: each run of on-frames of a key is one note.

    Example:

    >>> roll = np.zeros((3, 88), dtype=np.uint8); roll[0:2, 39] = 1
    >>> [(note.pitch, note.start, note.end) for note in roll_to_score(roll).notes]  # 120 qpm
    [(60, 0.0, 1.0)]
    """
    active = np.asarray(roll) > 0
    padded = np.zeros((active.shape[0] + 2, active.shape[1]), dtype=np.int8)
    padded[1:-1] = active
    change = np.diff(padded, axis=0)
    # Walking key by key (transposed), the k-th rise and the k-th fall belong to one note.
    start_columns, start_steps = np.nonzero(change.T == 1)
    _, end_steps = np.nonzero(change.T == -1)
    seconds_per_step = 60.0 / (qpm * steps_per_quarter)
    order = np.lexsort((start_columns, start_steps))
    notes = [
        Note(
            int(start_columns[index]) + lowest_pitch,
            90,
            float(start_steps[index]) * seconds_per_step,
            float(end_steps[index]) * seconds_per_step,
        )
        for index in order.tolist()
    ]
    return Score(notes=notes, tempos=[TempoChange(0.0, qpm)], time_signatures=[TimeSignature(0.0, 4, 4)])

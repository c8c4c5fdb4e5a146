"""Data sources: one string names where the music comes from.

=========================  ===================================================
source string              what it reads
=========================  ===================================================
``bach`` (default)         the Bach chorales shipped with music21 (MusicXML)
``essen``                  the Essen folk songs shipped with music21 (ABC)
``ryans``                  Ryan's Mammoth Collection shipped with music21 (ABC)
``palestrina``             the Palestrina masses shipped with music21 (Humdrum)
``path/to/folder``         every ``.mid``/``.midi`` file below it (recursive)
``path/to/file.mat|.pkl``  a Boulanger-Lewandowski polyphonic benchmark file,
                           with its published train/valid/test split
``tfds:NAME``              a TFDS dataset built by :mod:`musickit.data.tfds_builders`
``bach,essen``             several of the above, comma-separated: their pieces
                           together, each keeping its own style label
=========================  ===================================================

Each item a source yields is one *piece*: a file, or for the Essen collection
one tune of an ABC file (Essen files are anthologies of hundreds of tunes;
each tune is addressed by its ``X:`` reference number and read on its own with
``music21.corpus.parse(path, number=X)``, so ``max_files`` bounds the number of
tunes, not of anthologies). Every score carries ``metadata["style"]``: the
corpus name for the music21 corpora, the first sub-folder for a MIDI folder
(``jazz/take5.mid`` is ``"jazz"``), the benchmark's name for ``.mat``/``.pkl``
files and the dataset's own style feature for TFDS.

A piece that cannot be read never stops a source: :func:`read_scores` logs one
warning line for it, counts it and goes on.

Example:

>>> collection = read_scores("bach", max_files=2)  # doctest: +SKIP
>>> [piece.name for piece in collection.pieces]  # doctest: +SKIP
['bwv1.6', 'bwv10.7']
"""

import dataclasses
import logging
import os
import pickle
import re
from typing import List, Optional

import numpy as np

from musickit.errors import DataSourceError, MidiReadError
from musickit.music.midi_io import read_midi
from musickit.music.score import Note, Score, TempoChange, TimeSignature
from musickit.utils.atomic import is_partial_file
from musickit.utils.progress import progress

logger = logging.getLogger("musickit.data")

DEFAULT_SOURCE = "bach"
MIDI_SUFFIXES = (".mid", ".midi")
BENCHMARK_SUFFIXES = (".mat", ".pkl", ".pickle")
BENCHMARK_LOWEST_PITCH = 21  # column k of a published roll is MIDI pitch k + 21
BENCHMARK_QPM = 120.0  # the published rolls carry no tempo; one frame is one quarter note
SPLIT_NAMES = ("train", "valid", "test")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One piece a source can read, known before it is parsed.

    ``name`` is unique within the source and stable across runs (a relative
    path, ``file#tune`` for an ABC anthology, ``split/index`` for a benchmark
    file). ``split`` is the published split where the source has one.
    """

    name: str
    location: str = ""
    number: Optional[int] = None
    split: Optional[str] = None


@dataclasses.dataclass
class Piece:
    """A parsed piece: its :class:`Entry` and its :class:`~musickit.music.score.Score`."""

    entry: Entry
    score: Score

    @property
    def name(self):
        return self.entry.name


@dataclasses.dataclass
class ScoreCollection:
    """What :func:`read_scores` returns: the readable pieces and what was skipped.

    ``skipped`` holds ``(name, reason)`` for every piece that could not be read.
    """

    source: str
    pieces: List[Piece]
    skipped: List[tuple]
    has_published_splits: bool = False


class Source:
    """Base class. Subclasses list their entries cheaply and read one at a time."""

    has_published_splits = False

    def __init__(self, description, max_files=None):
        self.description = description
        self.max_files = max_files

    def entries(self):
        """Every readable-looking entry, sorted, cut to ``max_files``."""
        entries = self._all_entries()
        return entries if self.max_files is None else entries[: self.max_files]

    def fingerprint(self):
        """A JSON-able value that changes whenever the source's content may have changed."""
        return [entry.name for entry in self.entries()]

    def read(self, entry):
        """The :class:`Score` of ``entry``; raises :class:`MidiReadError` when it cannot be read."""
        raise NotImplementedError

    def read_all(self):
        """Yield ``(entry, score)`` for every entry, or ``(entry, error)`` with a :class:`MidiReadError`."""
        for entry in self.entries():
            try:
                yield entry, self.read(entry)
            except MidiReadError as error:
                yield entry, error

    def _all_entries(self):
        raise NotImplementedError


class Music21CorpusSource(Source):
    """One of the corpora that ship with music21, read with ``music21.corpus``."""

    # corpus source name -> (music21 composer/collection, file suffixes kept, style label)
    CORPORA = {
        # MusicXML chorales only: the Humdrum copies duplicate three of them, the
        # .rntxt files are harmonic analyses and bwv846 is a keyboard prelude.
        "bach": ("bach", (".mxl", ".xml"), "bach"),
        "essen": ("essenFolksong", (".abc",), "essen"),
        "ryans": ("ryansMammoth", (".abc",), "ryans"),
        "palestrina": ("palestrina", (".krn",), "palestrina"),
    }
    EXCLUDED_FILES = {"bwv846.mxl"}
    # music21's own test anthologies inside the Essen folder are not folk songs.
    EXCLUDED_PREFIXES = ("test",)

    def __init__(self, name, max_files=None):
        super().__init__(name, max_files)
        self.collection, self.suffixes, self.style = self.CORPORA[name]

    def _all_entries(self):
        from music21 import corpus

        paths = sorted(
            path
            for path in corpus.getComposer(self.collection)
            if path.suffix in self.suffixes
            and path.name not in self.EXCLUDED_FILES
            and not path.name.startswith(self.EXCLUDED_PREFIXES)
        )
        if not paths:
            raise DataSourceError(
                f"music21 ships no {self.collection} corpus here; reinstall music21 (pip install music21) "
                f"or pass a folder of MIDI files"
            )
        entries = []
        for path in paths:
            numbers = _abc_tune_numbers(path) if path.suffix == ".abc" else []
            if len(numbers) > 1:
                entries.extend(Entry(f"{path.stem}#{number}", str(path), number) for number in numbers)
            else:
                entries.append(Entry(path.stem, str(path)))
            if self.max_files is not None and len(entries) >= self.max_files:
                break  # anthologies are large; stop listing once enough tunes are known
        return entries

    def fingerprint(self):
        import music21

        return {"music21": music21.VERSION_STR, "entries": [entry.name for entry in self.entries()]}

    def read(self, entry):
        from music21 import corpus

        from musickit.music.music21_io import from_music21

        try:
            # forceSource: our own cache replaces music21's pickles, and writing
            # those would double the cost of the first pass.
            stream = corpus.parse(entry.location, number=entry.number, forceSource=True)
        except Exception as error:  # noqa: BLE001 - any parser failure makes this piece unreadable
            raise MidiReadError(entry.location, f"music21 could not read it ({_first_line(error)})") from None
        try:
            score = from_music21(stream, style=self.style)
        except Exception as error:  # noqa: BLE001 - a piece the conversion cannot handle is skipped, not fatal
            raise MidiReadError(entry.location, f"could not convert it to a score ({_first_line(error)})") from None
        score.metadata["name"] = entry.name
        return score


def _abc_tune_numbers(path):
    """The distinct ``X:`` reference numbers of an ABC file, in file order."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        numbers = [int(match) for match in re.findall(r"^X:\s*(\d+)", handle.read(), flags=re.MULTILINE)]
    return list(dict.fromkeys(numbers))


class MidiFolderSource(Source):
    """Every ``.mid``/``.midi`` file below a folder, in sorted relative-path order."""

    def __init__(self, folder, max_files=None):
        super().__init__(os.path.abspath(folder), max_files)
        self.folder = os.path.abspath(folder)

    def _all_entries(self):
        entries = []
        for directory, subdirectories, files in os.walk(self.folder):
            subdirectories.sort()
            for file_name in files:
                # A ".x.partial.mid" is a file a killed writer left unfinished: never data.
                if file_name.lower().endswith(MIDI_SUFFIXES) and not is_partial_file(file_name):
                    path = os.path.join(directory, file_name)
                    entries.append(Entry(os.path.relpath(path, self.folder).replace(os.sep, "/"), path))
        if not entries:
            raise DataSourceError(
                f"{self.folder}: no .mid or .midi files in this folder or below it; "
                f"point the source at a folder that holds MIDI files"
            )
        return sorted(entries, key=lambda entry: entry.name)

    def fingerprint(self):
        # Size and modification time catch edits without reading every file.
        fingerprint = []
        for entry in self.entries():
            status = os.stat(entry.location)
            fingerprint.append([entry.name, status.st_size, status.st_mtime_ns])
        return {"folder": self.folder, "files": fingerprint}

    def read(self, entry):
        score = read_midi(entry.location)
        score.metadata["name"] = entry.name
        style = entry.name.split("/")[0] if "/" in entry.name else None
        if style:
            score.metadata.setdefault("style", style)
        return score


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

    def _all_entries(self):
        return [
            Entry(f"{split}/{index:04d}", self.path, index, split)
            for split in SPLIT_NAMES
            for index in range(len(self.rolls()[split]))
        ]

    def entries(self):
        # max_files applies per split, so a small smoke run still has all three.
        entries = self._all_entries()
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
            f"{path}: not a readable polyphonic benchmark file ({_first_line(error)}); expected the published "
            f".mat or .pkl files with train/valid/test splits"
        ) from None


def _read_benchmark(path, handle):
    if path.lower().endswith(".mat"):
        import scipy.io

        splits = _pick_splits(scipy.io.loadmat(handle), path)
        return {split: [np.asarray(roll, dtype=np.uint8) for roll in np.ravel(value)] for split, value in splits.items()}
    raw = SafeUnpickler(handle, encoding="latin1").load()  # the original files are Python 2 pickles
    splits = _pick_splits(raw, path)
    return {split: [_pitch_sets_to_roll(sequence) for sequence in value] for split, value in splits.items()}


# What the published polyphonic pickles (and numpy-array variants of them) are made of: containers, numbers,
# strings and numpy arrays. Python 2 pickles name the builtins "__builtin__".
SAFE_PICKLE_GLOBALS = frozenset(
    [(module, name) for module in ("builtins", "__builtin__")
     for name in ("dict", "list", "tuple", "set", "frozenset", "int", "long", "float", "complex", "str", "unicode",
                  "bytes", "bytearray", "bool")]
    + [(module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray")
       for name in ("_reconstruct", "scalar")]
    + [("numpy", "ndarray"), ("numpy", "dtype"), ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"),
       ("_codecs", "encode")]  # protocol-2 pickles store an array's bytes as encode(text, "latin1")
)  # fmt: skip


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
            raise DataSourceError(f"refused to unpickle {module}.{name}: a polyphonic benchmark file holds only "
                                  "numbers, lists and arrays, so this file is not one (or was crafted to run code)")  # fmt: skip
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


class TfdsSource(Source):
    """A dataset built by one of musickit's TFDS builders (``tfds:bach_chorales``, ...).

    ``NAME`` may carry a config (``tfds:polyphonic_music/jsb_chorales``). The
    dataset is prepared on first use when it needs no manual download; its
    train/validation/test splits are kept.
    """

    has_published_splits = True
    SPLITS = {"train": "train", "valid": "validation", "test": "test"}

    def __init__(self, name, max_files=None, data_dir=None):
        super().__init__(f"tfds:{name}", max_files)
        self.name = name
        self.data_dir = data_dir
        self._builder = None

    def builder(self):
        if self._builder is None:
            import tensorflow_datasets as tfds

            import musickit.data.tfds_builders  # noqa: F401 - registers musickit's builders with TFDS

            try:
                self._builder = tfds.builder(self.name, data_dir=self.data_dir)
            except Exception as error:  # noqa: BLE001 - TFDS raises many kinds for unknown names
                raise DataSourceError(
                    f"tfds:{self.name}: TFDS cannot open it ({_first_line(error)}); "
                    f"musickit builds bach_chorales, polyphonic_music/<config> and maestro"
                ) from None
            if not self._builder.is_prepared():
                try:
                    self._builder.download_and_prepare()
                except Exception as error:  # noqa: BLE001 - most often a missing manual download
                    instructions = " ".join((self._builder.MANUAL_DOWNLOAD_INSTRUCTIONS or "").split())
                    raise DataSourceError(
                        f"tfds:{self.name}: could not prepare it ({_first_line(error)}) {instructions}".strip()
                    ) from None
        return self._builder

    def _all_entries(self):
        builder = self.builder()
        entries = []
        for split, tfds_split in self.SPLITS.items():
            if tfds_split not in builder.info.splits:
                continue
            count = builder.info.splits[tfds_split].num_examples
            if self.max_files is not None:
                count = min(count, self.max_files)
            entries.extend(Entry(f"{split}/{index:05d}", self.name, index, split) for index in range(count))
        return entries

    def entries(self):
        return self._all_entries()  # max_files already applies per split

    def fingerprint(self):
        builder = self.builder()
        return {"tfds": self.name, "version": str(builder.info.version), "data_dir": builder.data_dir,
                "max_files": self.max_files}  # fmt: skip

    def read_all(self):
        """Yield ``(entry, score)`` for every example, one pass per split (TFDS examples are always readable)."""
        import tensorflow_datasets as tfds

        from musickit.data.tfds_builders.features import example_to_score

        builder = self.builder()
        for split, tfds_split in self.SPLITS.items():
            if tfds_split not in builder.info.splits:
                continue
            dataset = builder.as_dataset(split=tfds_split, shuffle_files=False)
            if self.max_files is not None:
                dataset = dataset.take(self.max_files)
            for index, example in enumerate(tfds.as_numpy(dataset)):
                score = example_to_score(example)
                # The example's own name is stable; TFDS's reading order need not be.
                entry = Entry(score.metadata.get("name") or f"{split}/{index:05d}", self.name, index, split)
                score.metadata["name"] = entry.name
                yield entry, score


class CombinedSource(Source):
    """Several sources read as one (``"bach,essen"``): a corpus of several styles.

    Entry names are prefixed with their part's name (``bach/bwv1.6``,
    ``essen/deutschl#12``) so they stay unique, and ``max_files`` bounds each
    part, not the total, so every style is represented. A part with published
    splits keeps them.

    Example:

    >>> combined = open_source("bach,essen", max_files=2)
    >>> combined.description, [part.description for part in combined.parts]
    ('bach,essen', ['bach', 'essen'])
    """

    def __init__(self, parts):
        super().__init__(",".join(part.description for part in parts), None)
        self.parts = list(parts)
        self.has_published_splits = any(part.has_published_splits for part in self.parts)

    @staticmethod
    def _rename(part, entry):
        return dataclasses.replace(entry, name=f"{part.description}/{entry.name}")

    def entries(self):
        return [self._rename(part, entry) for part in self.parts for entry in part.entries()]

    def fingerprint(self):
        return {part.description: part.fingerprint() for part in self.parts}

    def read_all(self):
        for part in self.parts:
            for entry, result in part.read_all():
                entry = self._rename(part, entry)
                if not isinstance(result, MidiReadError):
                    result.metadata["name"] = entry.name
                yield entry, result


def open_source(source=DEFAULT_SOURCE, max_files=None):
    """The :class:`Source` that ``source`` names; a :class:`DataSourceError` saying what to do otherwise.

    A comma-separated list (``"bach,essen"``) opens each part and reads them
    together as a :class:`CombinedSource`.

    Example:

    >>> open_source("bach").description
    'bach'
    >>> open_source("mozart")
    Traceback (most recent call last):
    ...
    musickit.errors.DataSourceError: unknown data source 'mozart': use bach, essen, ryans, palestrina, a folder of MIDI files, a .mat/.pkl benchmark file or tfds:NAME
    """
    if max_files is not None and (int(max_files) != max_files or max_files < 1):
        raise DataSourceError(f"max_files must be a positive whole number or None, got {max_files!r}")
    source = os.fspath(source if source is not None else DEFAULT_SOURCE)
    if "," in source and not os.path.exists(os.path.expanduser(source)):  # a folder may have a comma in its name
        names = [name.strip() for name in source.split(",")]
        if not all(names) or len(set(names)) != len(names):
            raise DataSourceError(f"{source!r}: list each source once, separated by commas, e.g. bach,essen")
        return CombinedSource([open_source(name, max_files) for name in names])
    if source in Music21CorpusSource.CORPORA:
        return Music21CorpusSource(source, max_files)
    if source.startswith("tfds:"):
        name = source[len("tfds:") :].strip()
        if not name:
            raise DataSourceError("tfds: needs a dataset name, e.g. tfds:bach_chorales")
        return TfdsSource(name, max_files)
    path = os.path.expanduser(source)
    if os.path.isdir(path):
        return MidiFolderSource(path, max_files)
    if os.path.isfile(path):
        if path.lower().endswith(BENCHMARK_SUFFIXES):
            return BenchmarkFileSource(path, max_files)
        raise DataSourceError(
            f"{source}: a single file is not a data source; pass its folder, or a .mat/.pkl benchmark file"
        )
    if os.sep in source or "/" in source or source.lower().endswith(MIDI_SUFFIXES + BENCHMARK_SUFFIXES):
        raise DataSourceError(f"{source}: no such file or folder; check the path")
    raise DataSourceError(
        f"unknown data source {source!r}: use bach, essen, ryans, palestrina, a folder of MIDI files, "
        f"a .mat/.pkl benchmark file or tfds:NAME"
    )


def read_scores(source=DEFAULT_SOURCE, max_files=None, show_progress=None):
    """Parse every piece of ``source`` (a string or a :class:`Source`) into a :class:`ScoreCollection`.

    Unreadable pieces are skipped with one warning line each on the
    ``musickit.data`` logger, followed by one summary line.
    """
    if not isinstance(source, Source):
        source = open_source(source, max_files)
    pieces, skipped = [], []
    verb = "reading" if isinstance(source, TfdsSource) else "parsing"
    total = len(source.entries())
    for entry, result in progress(source.read_all(), f"{verb} {source.description}", total, show_progress):
        if isinstance(result, MidiReadError):
            logger.warning("skipped %s", result)
            skipped.append((entry.name, result.reason))
        else:
            pieces.append(Piece(entry, result))
    if skipped:  # the summary line; silent when nothing was lost
        logger.warning(
            "%s: read %d of %d pieces, skipped %d unreadable",
            source.description, len(pieces), len(pieces) + len(skipped), len(skipped),
        )  # fmt: skip
    if not pieces:
        raise DataSourceError(f"{source.description}: none of its {len(skipped)} pieces could be read")
    return ScoreCollection(source.description, pieces, skipped, source.has_published_splits)


def _first_line(error):
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__

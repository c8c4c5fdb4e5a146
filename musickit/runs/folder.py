"""A run folder: the files one training run leaves, and the checks that keep runs apart.

Three rules keep a user's work safe:

- musickit deletes only files it wrote itself: every file a run writes (through
  :func:`musickit.utils.atomic.atomic_path`, plus the fixed outputs of the Keras
  callbacks) is listed in the folder's ``manifest.json``, and ``--overwrite``
  removes exactly those, only in a folder that holds a musickit run;
- a folder that already holds a run is never replaced without ``--overwrite``,
  and ``--resume`` refuses a run made with other flags;
- one process writes a run folder at a time (``.musickit.lock`` holds its pid;
  the lock of a dead process is taken over).
"""

import contextlib
import errno
import fnmatch
import json
import os
import socket

from musickit.errors import UsageError
from musickit.representations.loading import load_representation
from musickit.runs.resume import (
    DATA_FINGERPRINT_KEY,
    MODEL_KEYS,
    UNCOMPARED_FLAGS,
    check_resumable,
    data_fingerprint,
    json_round_trip,
)
from musickit.utils.atomic import atomic_path, record_writes_below, remove_partial_files

# What --resume compares (the flags, the model, the data fingerprint) lives in musickit.runs.resume; the names
# the families and tests import stay importable from here.
__all__ = [
    "CALLBACK_OUTPUTS",
    "DATA_FINGERPRINT_KEY",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "MODEL_KEYS",
    "UNCOMPARED_FLAGS",
    "RunFolder",
    "data_fingerprint",
    "load_model_file",
]

MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".musickit.lock"
# Keras callbacks write these without atomic_path; a run declares them when it starts. A folder entry
# covers only the files its callback writes (TensorBoard events, backups), never a user's notes in it.
CALLBACK_OUTPUTS = {
    "history.csv": None,
    "best.weights.h5": None,
    "logs/": ("events.out.tfevents.*", "*.profile-empty", "*.pb", "*.json"),
    "backup/": ("*.h5", "*.json"),
}


class RunFolder:
    """Paths and metadata of one run.

    ``run.json`` records the model family (``"model"``), its config, the
    training settings and the flags, so ``musickit generate --run`` knows what
    it is looking at and ``--resume`` can refuse a folder of another run.
    ``manifest.json`` lists the files the run wrote and how far it got
    (``trained``: ``model.keras`` holds the trained model; ``finished``).

    Example:

    >>> run = RunFolder("/tmp/runs/demo")
    >>> os.path.basename(run.model_path)
    'model.keras'
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._manifest = None

    def file(self, *parts):
        return os.path.join(self.path, *parts)

    @property
    def model_path(self):
        return self.file("model.keras")

    @property
    def representation_path(self):
        return self.file("representation.json")

    @property
    def info_path(self):
        return self.file("run.json")

    @property
    def manifest_path(self):
        return self.file(MANIFEST_NAME)

    @property
    def lock_path(self):
        return self.file(LOCK_NAME)

    @property
    def samples_dir(self):
        return self.file("samples")

    @property
    def backup_dir(self):
        return self.file("backup")

    @property
    def logs_dir(self):
        return self.file("logs")

    @property
    def history_path(self):
        return self.file("history.csv")

    @property
    def metrics_path(self):
        return self.file("metrics.json")

    def exists(self):
        return os.path.isfile(self.info_path)

    def read_info(self):
        if not os.path.isdir(self.path):
            raise UsageError(f"{self.path} does not exist; pass the --output-dir of a finished training run")
        if not self.exists():
            raise UsageError(f"{self.path} is not a musickit run folder (no run.json)")
        try:
            with open(self.info_path) as handle:
                info = json.load(handle)
        except (OSError, ValueError) as error:
            raise UsageError(f"{self.info_path} is not readable JSON ({error}); the run folder is damaged") from None
        if not isinstance(info, dict):
            raise UsageError(f"{self.info_path} does not hold a JSON object; the run folder is damaged")
        return info

    def write_json(self, path, content):
        """Write ``content`` as JSON; NaN and infinity become ``null`` (JSON has no NaN)."""
        with atomic_path(path) as temporary:
            with open(temporary, "w") as handle:
                json.dump(_finite(json_round_trip(content)), handle, indent=2, sort_keys=True, allow_nan=False)
                handle.write("\n")

    # ## State: the manifest

    def manifest(self):
        """``{"files": [...], "trained": bool, "finished": bool}``; ``None`` for a folder without one."""
        if self._manifest is None and os.path.isfile(self.manifest_path):
            try:
                with open(self.manifest_path) as handle:
                    self._manifest = json.load(handle)
            except (OSError, ValueError):
                raise UsageError(
                    f"{self.manifest_path} is damaged, so musickit cannot tell its files from yours; "
                    "delete the run folder yourself or pass another --output-dir"
                ) from None
        return self._manifest

    @property
    def trained(self):
        """Whether ``model.keras`` holds the model of a training that ran to its end."""
        return bool((self.manifest() or {}).get("trained")) and os.path.isfile(self.model_path)

    @property
    def finished(self):
        return bool((self.manifest() or {}).get("finished"))

    def _save_manifest(self):
        self.write_json(self.manifest_path, self._manifest)

    def _record(self, relative):
        if relative in (MANIFEST_NAME, LOCK_NAME) or self._manifest is None:
            return
        if relative not in self._manifest["files"]:
            self._manifest["files"].append(relative)
            self._save_manifest()

    def record(self, *relatives):
        """Add files (or ``folder/`` entries) that another writer made for this run to the manifest."""
        for relative in relatives:
            self._record(relative)

    # ## Starting, resuming, overwriting

    def start(self, info, resume=False, overwrite=False, flags=None, ignore_flags=(), continue_finished=False):
        """Prepare the folder for training; with ``resume`` the existing run must match ``info`` and ``flags``.

        ``flags`` is the recipe's ``argparse`` namespace (or a dict): stored in
        ``run.json`` and compared on ``--resume`` (but for ``ignore_flags``).
        A folder that holds a run is refused unless ``resume`` or ``overwrite``;
        ``overwrite`` deletes the files the old run wrote and nothing else.
        ``continue_finished`` lets a step of a multi-step recipe add to a
        finished run. Returns ``True`` when there is earlier training to continue.
        """
        if flags is not None:
            flags = {
                name: value
                for name, value in sorted(dict(vars(flags) if hasattr(flags, "__dict__") else flags).items())
                if name not in UNCOMPARED_FLAGS and name not in ignore_flags and not callable(value)
            }
            info = {**info, "flags": flags}
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise UsageError(f"--output-dir {self.path} is a file; pass a folder")
        if os.path.isdir(self.path):
            self.lock()  # first: a folder another process is writing is refused as such
        try:
            resume = self.check_start(resume=resume, overwrite=overwrite, continue_finished=continue_finished)
            if resume:
                check_resumable(self.path, self.read_info(), info)
        except UsageError:
            self.unlock()
            raise
        os.makedirs(self.path, exist_ok=True)
        self.lock()
        remove_partial_files(self.path)
        if resume:
            if self.manifest() is None:  # a run from before manifests: keep it, list from now on
                self._manifest = {"files": [], "trained": False, "finished": False}
            self._manifest["finished"] = False
        else:
            if self.exists():
                self.remove_own_files()
            self._manifest = {"files": [], "trained": False, "finished": False}
        record_writes_below(self.path, self._record)
        self.record("run.json", "representation.json", *CALLBACK_OUTPUTS)
        self._save_manifest()
        self.write_json(self.info_path, info)
        return resume and (os.path.isdir(self.backup_dir) or self.trained)

    def check_start(self, resume=False, overwrite=False, continue_finished=False):
        """Refuse, in one line, a start that :meth:`start` would refuse, before any data is read or model built.

        Checks what the folder alone tells (a file, another process' lock, a folder that holds no run,
        a run to keep without ``--overwrite``, nothing to resume) but not the saved flags, which need the
        data. Writes nothing. Returns whether there is a run to resume.

        >>> RunFolder("/tmp/musickit-check-start-never-made").check_start(resume=True)
        Traceback (most recent call last):
        ...
        musickit.errors.UsageError: nothing to resume: /tmp/musickit-check-start-never-made holds no run; \
leave out --resume to start one
        """
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise UsageError(f"--output-dir {self.path} is a file; pass a folder")
        holder = _read_lock(self.lock_path)
        if holder is not None and holder != _process_identity() and _alive(holder):
            raise UsageError(
                f"{self.path} is being written by process {holder['pid']} on {holder['host']}; "
                "wait for it to finish or pass another --output-dir"
            )
        if resume and not self.exists():
            if not continue_finished:
                raise UsageError(f"nothing to resume: {self.path} holds no run; leave out --resume to start one")
            resume = False
        if not resume and not self.exists() and _has_foreign_files(self.path):
            raise UsageError(
                f"--output-dir {self.path} is not empty and holds no musickit run; pass a new or empty folder"
            )
        if not resume and self.exists() and not overwrite:
            state = "a finished" if self.finished else "an unfinished"
            raise UsageError(
                f"{self.path} already holds {state} run; pass --overwrite to replace it"
                + ("" if self.finished else ", --resume to continue it")
                + " or another --output-dir"
            )
        if resume and self.finished and not continue_finished:
            raise UsageError(
                f"nothing to resume: {self.path} holds a finished run; generate more with "
                f"musickit generate --run {self.path}, or pass --overwrite to train again"
            )
        return resume

    def remove_own_files(self):
        """Delete the files the manifest lists (and the run's own bookkeeping), nothing else."""
        manifest = self.manifest()
        if manifest is None:
            raise UsageError(
                f"{self.path} was written by an older musickit without a file list, so --overwrite "
                "cannot tell its files from yours; delete it yourself or pass another --output-dir"
            )
        folders = set()
        for relative in manifest.get("files", []):
            path = self.file(*relative.rstrip("/").split("/"))
            if not _inside(path, self.path):
                continue  # a hand-edited manifest must not reach outside the run
            if relative.endswith("/"):
                patterns = CALLBACK_OUTPUTS.get(relative) or ("*",)
                for directory, _, names in os.walk(path):
                    folders.add(directory)
                    for name in names:
                        if any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
                            _remove(os.path.join(directory, name))
            else:
                _remove(path)
                folders.add(os.path.dirname(path))
        for directory in sorted(folders, key=len, reverse=True):  # deepest first; only emptied folders go
            if _inside(directory, self.path) and os.path.realpath(directory) != os.path.realpath(self.path):
                with contextlib.suppress(OSError):
                    os.rmdir(directory)
        for name in (MANIFEST_NAME, "run.json"):
            _remove(self.file(name))
        self._manifest = None

    def finish(self):
        """Mark the run finished (``--resume`` then has nothing to do) and release the lock."""
        if self.manifest() is not None:
            self._manifest["finished"] = True
            self._save_manifest()
        record_writes_below(self.path, None)
        self.unlock()

    # ## The lock: one writing process per folder

    def lock(self):
        """Take the folder's lock; a live process holding it is a one-line :class:`UsageError`."""
        mine = _process_identity()
        for _ in range(3):
            try:
                descriptor = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _read_lock(self.lock_path)
                if holder == mine:
                    return  # this process already holds it (several RunFolder objects, one run)
                if holder is not None and _alive(holder):
                    raise UsageError(
                        f"{self.path} is being written by process {holder['pid']} on {holder['host']}; "
                        "wait for it to finish or pass another --output-dir"
                    ) from None
                _remove(self.lock_path)  # stale: its process is gone
                continue
            with os.fdopen(descriptor, "w") as handle:
                json.dump(mine, handle)
            _held_locks.add(os.path.abspath(self.lock_path))
            return
        raise UsageError(f"{self.path}: could not take the run folder's lock; pass another --output-dir")

    def unlock(self):
        if _read_lock(self.lock_path) == _process_identity():
            _remove(self.lock_path)
        _held_locks.discard(os.path.abspath(self.lock_path))

    # ## The model

    def save_model(self, model, representation):
        """Write ``model.keras`` and the representation; the run is then ``trained``."""
        with atomic_path(self.model_path) as temporary:
            model.save(temporary)
        representation.save(self.representation_path)
        if self._manifest is not None:
            self._manifest["trained"] = True
            self._save_manifest()

    def load(self, expected_model):
        """Load ``(info, model, representation)``; refuse a run of another model family.

        The caller (the family) has imported its model class, so Keras knows it.
        """
        info = self.read_info()
        if info.get("model") != expected_model:
            raise UsageError(f"{self.path} is a {info.get('model')} run, not a {expected_model} run")
        if not os.path.isfile(self.model_path):
            raise UsageError(f"{self.path} has no model.keras yet; let training finish or use --resume")
        return info, load_model_file(self.model_path), load_representation(self.representation_path)

    def inside(self, relative):
        """``relative`` (from run.json) as a path that must stay inside the run folder."""
        path = os.path.join(self.path, os.fspath(relative))
        if os.path.isabs(os.fspath(relative)) or not _inside(path, self.path):
            raise UsageError(
                f"{self.info_path} points outside its run folder ({relative!r}); the run folder "
                "is damaged or was edited by hand"
            )
        return path


def load_model_file(path):
    """``keras.saving.load_model``; a damaged or unsafe file is one line.

    Every model class is registered first (importing :mod:`musickit.models`),
    so a bare script loads any run's ``model.keras``.

    Example:

    >>> model = load_model_file("runs/vae_gan/model.keras")  # doctest: +SKIP
    """
    import zipfile

    import keras  # here, not at the top: `musickit --help` should not wait for a backend

    import musickit.models  # noqa: F401  (registers every model class and its layers for .keras loading)

    if not os.path.isfile(path):
        raise UsageError(f"{path} does not exist; the run did not finish training: rerun its recipe with --resume")
    if not zipfile.is_zipfile(path):  # Keras would say "File not found" for a torn or overwritten file
        raise UsageError(
            f"{path} is damaged (not a .keras zip archive; a write was cut off?): train again or use another run"
        )
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds for one cause: a file it cannot load
        lines = str(error).strip().splitlines()
        reason = next(
            (line.strip() for line in lines if "unsafe" in line.lower() or "lambda" in line.lower()),
            lines[0].strip() if lines else type(error).__name__,
        )
        raise UsageError(
            f"{path} could not be loaded ({reason[:300]}); it is damaged, unsafe or from another "
            "musickit version: train again or use another run"
        ) from None


_held_locks = set()


def _release_held_locks():
    for path in list(_held_locks):
        if _read_lock(path) == _process_identity():
            _remove(path)


import atexit  # noqa: E402  (kept beside the function it registers)

atexit.register(_release_held_locks)


def _process_identity():
    return {"pid": os.getpid(), "host": socket.gethostname(), "started": _start_time(os.getpid())}


def _start_time(pid):
    """The process' start time from /proc (tells a reused pid from the lock's owner), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _read_lock(path):
    try:
        with open(path) as handle:
            holder = json.load(handle)
        return holder if isinstance(holder, dict) and isinstance(holder.get("pid"), int) else None
    except (OSError, ValueError):
        return None


def _alive(holder):
    if holder.get("host") != socket.gethostname():
        return True  # another machine's process: assume it is alive (we cannot tell)
    try:
        os.kill(holder["pid"], 0)
    except OSError as error:
        if error.errno != errno.EPERM:
            return False
    started = holder.get("started")
    return started is None or _start_time(holder["pid"]) in (None, started)


def _has_foreign_files(path):
    if not os.path.isdir(path):
        return False
    return any(name != LOCK_NAME for name in os.listdir(path))


def _inside(path, folder):
    folder = os.path.realpath(folder)
    return os.path.realpath(path).startswith(folder + os.sep)


def _remove(path):
    with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
        os.remove(path)


def _finite(value):
    """Replace NaN and infinities (which ``json.dump`` would write as invalid JSON) by ``None``."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value

"""A run folder: the files one training run leaves, and the checks that keep runs apart."""

import json
import os
import shutil

from musickit.errors import UsageError
from musickit.representations.base import load_representation
from musickit.utils.atomic import atomic_path


class RunFolder:
    """Paths and metadata of one run.

    ``run.json`` records the model family (``"model"``), its config and the
    training settings, so ``musickit generate --run`` knows what it is
    looking at and ``--resume`` can refuse a folder of another model.

    Example:

    >>> run = RunFolder("/tmp/runs/demo")
    >>> os.path.basename(run.model_path)
    'model.keras'
    """

    def __init__(self, path):
        self.path = os.fspath(path)

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
        with open(self.info_path) as handle:
            return json.load(handle)

    def write_json(self, path, content):
        with atomic_path(path) as temporary:
            with open(temporary, "w") as handle:
                json.dump(content, handle, indent=2, sort_keys=True, default=_plain)
                handle.write("\n")

    def start(self, info, resume=False):
        """Prepare the folder for training; with ``resume`` the existing run must match ``info``.

        Without ``resume`` an old backup is removed so training starts fresh.
        Returns ``True`` when there is an interrupted run to continue.
        """
        os.makedirs(self.path, exist_ok=True)
        if resume and self.exists():
            previous = self.read_info()
            for key in ("model", "model_config", "representation"):
                if previous.get(key) != _roundtrip(info.get(key)):
                    raise UsageError(
                        f"{self.path} holds a run with a different {key.replace('_', ' ')}; "
                        "resume with the same flags, or pass another --output-dir"
                    )
        else:
            self._clear_previous_run()
        self.write_json(self.info_path, info)
        return resume and os.path.isdir(self.backup_dir)

    def _clear_previous_run(self):
        """Remove the files an earlier run left, so a fresh run does not mix with it."""
        for name in ("backup", "logs", "samples", "training_samples"):
            if os.path.isdir(self.file(name)):
                shutil.rmtree(self.file(name))
        for name in ("history.csv", "history.png", "metrics.json", "best.weights.h5", "model.keras",
                     "representation.json", "primer.mid"):  # fmt: skip
            if os.path.isfile(self.file(name)):
                os.remove(self.file(name))

    def save_model(self, model, representation):
        with atomic_path(self.model_path) as temporary:
            model.save(temporary)
        representation.save(self.representation_path)

    def load(self, expected_model):
        """Load ``(info, model, representation)``; refuse a run of another model family."""
        info = self.read_info()
        if info.get("model") != expected_model:
            raise UsageError(f"{self.path} is a {info.get('model')} run, not a {expected_model} run")
        if not os.path.isfile(self.model_path):
            raise UsageError(f"{self.path} has no model.keras yet; let training finish or use --resume")
        import keras  # here, not at the top: `musickit --help` should not wait for a backend

        import musickit.layers  # noqa: F401  (registers the serializable classes before loading)
        import musickit.models  # noqa: F401

        model = keras.saving.load_model(self.model_path, compile=False)
        return info, model, load_representation(self.representation_path)


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _roundtrip(value):
    return json.loads(json.dumps(value, default=_plain))

"""Keras callbacks that make a run folder survive a kill at any moment.

- :class:`AtomicBackupAndRestore` is Keras' ``BackupAndRestore`` whose backup
  files are written to a temporary name and renamed, so a kill inside the
  backup write leaves the previous epoch's backup, never a torn file.
- :class:`KeepFinishedTraining` makes ``fit`` a no-op on ``--resume`` when the
  run already finished training (it was killed while writing samples or
  metrics): it loads the saved model's weights instead of training again.
"""

import json
import os

import keras

from musickit.errors import UsageError
from musickit.utils.atomic import atomic_path


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` with atomic writes and a one-line error for a damaged backup.

    Example:

    >>> callback = AtomicBackupAndRestore("/tmp/run/backup")
    """

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except (OSError, ValueError, KeyError) as error:
            raise UsageError(
                f"the backup in {self.backup_dir} cannot be read ({str(error).splitlines()[0][:200]}); "
                "delete that folder to restart training from its first epoch"
            ) from None

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        with atomic_path(self._weights_path) as temporary:
            self.model.save_weights(filepath=temporary, overwrite=True)
        with atomic_path(self._training_metadata_path) as temporary:
            with open(temporary, "w") as handle:
                json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, handle)


class KeepFinishedTraining(keras.callbacks.Callback):
    """Skip every epoch and load ``model_path``'s weights: training of this run already ran to its end.

    Example:

    >>> callback = KeepFinishedTraining("/tmp/run/model.keras")
    """

    def __init__(self, model_path):
        super().__init__()
        self.model_path = model_path

    def on_train_begin(self, logs=None):
        self.model.load_weights(self.model_path)
        self.model._initial_epoch = self.params["epochs"]  # the mechanism BackupAndRestore uses to skip epochs
        print(f"training had finished before the interruption: kept {self.model_path}, no epoch redone")

"""Keras callbacks used by the recipes."""

import keras

from musickit.runs.callbacks import AtomicBackupAndRestore, KeepFinishedTraining


class SampleEveryEpochs(keras.callbacks.Callback):
    """Call ``write_sample(epoch)`` every ``every`` epochs, so progress can be heard while training.

    ``write_sample`` gets the 1-based epoch number and writes whatever it
    likes (a recipe writes ``samples/epoch_NNN.mid``).

    Example:

    >>> callback = SampleEveryEpochs(lambda epoch: print("epoch", epoch), every=5)
    """

    def __init__(self, write_sample, every=5):
        super().__init__()
        self.write_sample = write_sample
        self.every = every

    def on_epoch_end(self, epoch, logs=None):
        if self.every and (epoch + 1) % self.every == 0:
            self.write_sample(epoch + 1)


def standard_callbacks(run, monitor="val_nll", patience=5, resume=False, reduce_on_plateau=True, extra=()):
    """Best-on-validation checkpoint, early stopping, LR schedule, backup/resume, CSV and TensorBoard logs.

    ``run`` is a :class:`~musickit.runs.folder.RunFolder`. The best weights
    are also restored at the end (EarlyStopping), so ``model`` after
    ``fit`` is the selected one. Pass ``reduce_on_plateau=False`` when the
    optimizer follows a learning-rate schedule, which that callback would overwrite.
    """
    plateau = [
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode="min", factor=0.5, patience=max(patience // 2, 1))
    ]
    return [
        AtomicBackupAndRestore(run.backup_dir, delete_checkpoint=True),
        keras.callbacks.ModelCheckpoint(
            run.file("best.weights.h5"), monitor=monitor, mode="min", save_best_only=True, save_weights_only=True
        ),
        keras.callbacks.EarlyStopping(monitor=monitor, mode="min", patience=patience, restore_best_weights=True),
        *(plateau if reduce_on_plateau else []),
        keras.callbacks.CSVLogger(run.history_path, append=resume),
        keras.callbacks.TensorBoard(run.logs_dir, write_graph=False),
        *extra,
        # Last, so it overrides what BackupAndRestore restored: a resumed run that had finished training.
        *([KeepFinishedTraining(run.model_path)] if resume and getattr(run, "trained", False) else []),
    ]

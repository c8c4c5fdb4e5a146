"""Keras Tuner tuners that survive being killed and record failed trials with their reason.

Keras Tuner already keeps a study on disk: with ``overwrite=False`` a tuner
built on the same project folder reloads its oracle, skips finished trials
and puts the trials that were running back in the queue. What it lacks is
the inside of a trial: a killed trial starts again from its first epoch. The
tuners here add, per trial and per execution, in ``trial_N/execution_M/``:

* ``backup/``: a ``keras.callbacks.BackupAndRestore`` checkpoint written at every
  epoch end, so an interrupted trial resumes from its last finished epoch;
* ``epochs.jsonl``: every epoch's logs, so the resumed trial still reports
  its best epoch over the whole run, not only over the epochs after resuming;
* ``hyperparameters.json``: the values the backup belongs to, so a backup is
  never restored into a model of other hyperparameters;
* ``finished``: written when the execution completed; a rerun reads the
  results instead of training again.

A trial whose loss becomes NaN or that runs out of memory raises
``keras_tuner.errors.FailedTrialError``: Keras Tuner marks it FAILED, keeps the
reason in ``trial.message`` and goes on with the next trial.

Example:

>>> tuner = make_tuner("grid", hypermodel, objective="val_nll", directory="runs/study",
...                    project_name="grid", max_trials=9)  # doctest: +SKIP
>>> tuner.search(train_rolls, validation_data=valid_rolls, epochs=10)  # doctest: +SKIP
"""

import functools
import json
import math
import os
import shutil
import tempfile

import keras
import keras_tuner
from keras_tuner.errors import FailedTrialError

from musickit.errors import UsageError
from musickit.runs.callbacks import AtomicBackupAndRestore
from musickit.utils.atomic import atomic_path

TUNERS = {
    "grid": keras_tuner.GridSearch,
    "random": keras_tuner.RandomSearch,
    "bayesian": keras_tuner.BayesianOptimization,
    "hyperband": keras_tuner.Hyperband,
}
OUT_OF_MEMORY_SIGNS = ("RESOURCE_EXHAUSTED", "out of memory", "OutOfMemory", "OOM when allocating")


class FailOnNaN(keras.callbacks.Callback):
    """Stop a trial whose loss is no longer finite, as a *failed* trial.

    ``keras.callbacks.TerminateOnNaN`` would end training quietly and the
    tuner would score the epochs before the NaN; raising
    ``FailedTrialError`` records the trial as failed with the reason instead.
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise FailedTrialError(f"loss became {float(loss)} at batch {batch}; try a lower learning rate")


class EpochLog(keras.callbacks.Callback):
    """Append every epoch's logs to a JSON-lines file (one line per epoch, flushed at once)."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        record = {"epoch": int(epoch), **{name: float(value) for name, value in (logs or {}).items()}}
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def read_epoch_log(path):
    """A ``keras.callbacks.History`` from an :class:`EpochLog` file; a repeated epoch keeps its last line."""
    epochs = {}
    if os.path.isfile(path):
        with open(path) as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by a kill
                    continue
                epochs[record.pop("epoch")] = record
    history = keras.callbacks.History()
    names = sorted({name for record in epochs.values() for name in record})
    history.history = {name: [epochs[epoch].get(name, math.nan) for epoch in sorted(epochs)] for name in names}
    history.epoch = sorted(epochs)
    return history


def trial_folder(callbacks, name):
    """Where a trial that trains in stages keeps them: ``name`` beside the tuner's backup folder among
    ``callbacks`` (so a killed trial finds its finished stages), else a new temporary folder.

    Returns ``(folder, temporary)``.

    >>> trial_folder([keras.callbacks.BackupAndRestore("study/trial_0/execution_0/backup")], "stages")
    ('study/trial_0/execution_0/stages', False)
    """
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.BackupAndRestore):
            return os.path.join(os.path.dirname(os.path.normpath(callback.backup_dir)), name), False
    return tempfile.mkdtemp(prefix=f"musickit-{name}-"), True


def _is_out_of_memory(error):
    text = f"{type(error).__name__}: {error}"
    return any(sign in text for sign in OUT_OF_MEMORY_SIGNS)


class SurvivableTrialsMixin:
    """Mixed into a Keras Tuner tuner: per-execution backups, epoch logs and failure reasons (see module doc)."""

    def run_trial(self, trial, *args, **kwargs):
        self._execution_index = 0
        return super().run_trial(trial, *args, **kwargs)

    def execution_dir(self, trial_id, execution):
        path = os.path.join(self.get_trial_dir(trial_id), f"execution_{execution}")
        os.makedirs(path, exist_ok=True)
        return path

    def _build_and_fit_model(self, trial, *args, **kwargs):
        execution = self._execution_index
        self._execution_index += 1
        folder = self.execution_dir(trial.trial_id, execution)
        log_path = os.path.join(folder, "epochs.jsonl")
        finished_path = os.path.join(folder, "finished")
        if os.path.isfile(finished_path):
            print(f"Trial {trial.trial_id}, execution {execution}: finished before, reusing its results")
            return read_epoch_log(log_path)
        self._forget_other_hyperparameters(folder, trial.hyperparameters.values)
        backup_dir = os.path.join(folder, "backup")
        if os.path.isdir(backup_dir) and not _backup_is_complete(backup_dir):
            # A kill while Keras wrote the backup leaves it half-written: start this execution afresh.
            print(f"{backup_dir} was cut short by an interruption; this execution starts over")
            shutil.rmtree(backup_dir, ignore_errors=True)
        if not os.path.isdir(backup_dir) and os.path.isfile(log_path):
            os.remove(log_path)  # no backup to resume from: training starts over, and so does its log
        callbacks = list(kwargs.pop("callbacks", []))
        # Epoch ends run in list order: the log is written before the backup, so a kill between
        # the two repeats that epoch (the log keeps its last line) instead of losing its logs.
        # The backup is kept until the execution is marked finished: a kill in between then
        # restores the last epoch and trains nothing more.
        backup = AtomicBackupAndRestore(backup_dir, delete_checkpoint=False)  # a kill mid-write keeps the last one
        callbacks = [FailOnNaN(), *callbacks, EpochLog(log_path), backup]
        try:
            super()._build_and_fit_model(trial, *args, callbacks=callbacks, **kwargs)
        except FailedTrialError:
            raise
        except Exception as error:
            if _is_out_of_memory(error):
                raise FailedTrialError(
                    f"out of memory ({type(error).__name__}); try a smaller --batch-size or model"
                ) from error
            raise
        finally:
            # Free this trial's graphs and weights now rather than at the next build.
            keras.backend.clear_session()
        history = read_epoch_log(log_path)
        if self.oracle.objective.name not in history.history:
            raise FailedTrialError(
                f"objective {self.oracle.objective.name} was never logged; the logs had {sorted(history.history)}"
            )
        with open(finished_path, "w") as handle:
            handle.write("done\n")
        shutil.rmtree(backup_dir, ignore_errors=True)
        return history

    @staticmethod
    def _forget_other_hyperparameters(folder, values):
        """Keep a backup only if it was written for these hyperparameter values."""
        path = os.path.join(folder, "hyperparameters.json")
        values = json.loads(json.dumps(values, default=str))
        if os.path.isfile(path):
            with open(path) as handle:
                if json.load(handle) == values:
                    return
            print(f"{folder} holds a backup of other hyperparameters; starting this execution afresh")
            shutil.rmtree(os.path.join(folder, "backup"), ignore_errors=True)
            if os.path.isfile(os.path.join(folder, "epochs.jsonl")):
                os.remove(os.path.join(folder, "epochs.jsonl"))
        with atomic_path(path) as temporary:
            with open(temporary, "w") as handle:
                json.dump(values, handle, sort_keys=True)

    def reload(self):
        super().reload()
        if isinstance(self.oracle, keras_tuner.oracles.GridSearchOracle) and not self._is_worker():
            restore_grid_order(self.oracle)

    def on_search_begin(self):
        # Save the tuner (and its oracle) before the first trial, so a study killed
        # during that trial reloads it on restart instead of starting a new oracle.
        if not self._is_worker():
            self.save()
        super().on_search_begin()


_TUNER_CLASSES = {
    kind: type(f"Survivable{base.__name__}", (SurvivableTrialsMixin, base), {"__module__": __name__})
    for kind, base in TUNERS.items()
}


def make_tuner(
    kind,
    hypermodel,
    objective,
    directory,
    project_name,
    max_trials=None,
    epochs=None,
    hyperparameters=None,
    executions_per_trial=1,
    max_consecutive_failed_trials=3,
    seed=0,
):
    """A survivable Keras Tuner of ``kind`` (``grid``, ``random``, ``bayesian``, ``hyperband``).

    ``hyperparameters`` (a study's space) are registered before the
    hypermodel's, and nothing else is tuned (``tune_new_entries=False``).
    ``epochs`` is Hyperband's ``max_epochs``; the other tuners take epochs in
    ``search``. The project folder is reloaded when it exists
    (``overwrite=False``).
    """
    if kind not in TUNERS:
        raise UsageError(f"unknown tuner {kind!r}; choose one of {', '.join(TUNERS)}")
    options = dict(
        hypermodel=hypermodel,
        objective=objective,
        hyperparameters=hyperparameters,
        tune_new_entries=hyperparameters is None,
        seed=seed,
        max_retries_per_trial=0,  # a failure is recorded, not retried: the next trial runs instead
        max_consecutive_failed_trials=max_consecutive_failed_trials,
        executions_per_trial=executions_per_trial,
        directory=directory,
        project_name=project_name,
        overwrite=False,
    )
    if kind == "hyperband":
        return _TUNER_CLASSES[kind](max_epochs=max(int(epochs or 1), 2), factor=3, **options)
    return _TUNER_CLASSES[kind](max_trials=max_trials, **options)


def restore_grid_order(oracle):
    """Rebuild what a reloaded ``GridSearchOracle`` lost: its grid order of trials and what to continue from.

    Keras Tuner's grid oracle keeps a linked list of trial ids in grid order,
    and the trials whose next grid point is still to be made, only in memory;
    ``oracle.json`` holds neither. Reloaded, the list is empty, so a study killed
    during its first trial failed with ``KeyError: '0'`` once that trial ended,
    and one killed between trials stopped as if its grid were done. Here the
    list is rebuilt from the reloaded trials, sorted by the oracle's own grid
    comparison, and every ended trial is queued again (one whose next point was
    already made is skipped, as in the oracle itself).
    """
    values = {trial_id: trial.hyperparameters.values for trial_id, trial in oracle.trials.items()}
    compare = functools.cmp_to_key(lambda first, second: oracle._compare(values[first], values[second]))
    ordered = type(oracle._ordered_ids)()
    for trial_id in sorted(values, key=compare):
        ordered.insert(trial_id)  # appended: the list ends up in grid order
    oracle._ordered_ids = ordered
    oracle._populate_next = [trial_id for trial_id in oracle.end_order if trial_id in values]


def _backup_is_complete(backup_dir):
    """Whether a ``BackupAndRestore`` folder holds weights and readable training metadata.

    Keras writes the weights, then the metadata JSON; a kill during that write
    leaves an empty or cut-off JSON file that would fail the trial on restore.
    """
    metadata = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.isfile(metadata) or not os.path.isfile(os.path.join(backup_dir, "latest.weights.h5")):
        return False
    try:
        with open(metadata) as handle:
            json.load(handle)
    except (OSError, ValueError):
        return False
    return True

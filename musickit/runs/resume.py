"""What ``--resume`` compares: a run's ``run.json`` against the run about to start, and the data it was trained on.

:meth:`RunFolder.start <musickit.runs.folder.RunFolder.start>` calls
:func:`check_resumable`, which refuses, in one line, a folder of a run with
another model, other flags or other data (:func:`data_fingerprint`).

Example:

>>> saved = data_fingerprint("bach", {"train": ["bwv1", "bwv2"]})
>>> try:
...     check_same_data("runs/demo", saved, data_fingerprint("folk", {"train": ["bwv1", "bwv2"]}))
... except UsageError as error:
...     print(str(error).split(";")[0])
--resume: runs/demo was trained on data 'bach', not 'folk'
"""

import hashlib
import json

from musickit.errors import UsageError

# Flags that may differ between a run and its --resume: they change nothing that was trained.
UNCOMPARED_FLAGS = frozenset({"resume", "overwrite", "soundfont", "command", "output_dir"})  # a moved run still resumes
# run.json keys compared first, with the message the tests and users know.
MODEL_KEYS = ("model", "model_config", "representation")
# run.json key of :func:`data_fingerprint`; a run written before it has none and still resumes.
DATA_FINGERPRINT_KEY = "data_fingerprint"


def data_fingerprint(source, pieces):
    """What ``--resume`` compares to tell other data apart: the source and each split's piece count and names.

    ``pieces`` maps a split name to the names of its pieces, in order. Only a
    digest of the names is kept, so ``run.json`` stays small; it is cheap (no
    file is read). Store it in ``run.json`` under ``"data_fingerprint"`` (the
    families do) and :meth:`RunFolder.start` refuses to resume on other data.

    >>> data_fingerprint("bach", {"train": ["bwv1", "bwv2"], "valid": ["bwv3"]})["splits"]["train"]["pieces"]
    2
    """
    splits = {}
    for name, names in pieces.items():
        names = [str(piece) for piece in names]
        digest = hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()[:16]
        splits[name] = {"pieces": len(names), "names_sha256": digest}
    return {"source": str(source), "splits": splits}


def check_resumable(path, previous, info):
    """Refuse, in one line, to resume the run of ``previous`` (its ``run.json``) as the run of ``info``.

    ``path`` is the run folder (for the messages). Whether a finished run may go
    on is :meth:`RunFolder.start <musickit.runs.folder.RunFolder.start>`'s to say.
    """
    for key in MODEL_KEYS:
        if _without_names(previous.get(key)) != _without_names(json_round_trip(info.get(key))):
            raise UsageError(
                f"{path} holds a run with a different {key.replace('_', ' ')}; "
                "resume with the same flags, or pass another --output-dir"
            )
    saved_flags, flags = previous.get("flags"), json_round_trip(info.get("flags"))
    if saved_flags is not None and flags is not None:
        changed = [name for name in sorted(set(saved_flags) | set(flags)) if saved_flags.get(name) != flags.get(name)]
        if changed:
            name = changed[0]
            raise UsageError(
                f"--resume: {path} was made with --{name.replace('_', '-')} {_show(saved_flags.get(name))}, "
                f"not {_show(flags.get(name))}; rerun with the flags it was made with "
                "(its run.json lists them), or pass --overwrite to start over"
            )
    check_same_data(path, previous.get(DATA_FINGERPRINT_KEY), json_round_trip(info.get(DATA_FINGERPRINT_KEY)))
    for key in sorted(set(previous) | set(info)):
        if key in (*MODEL_KEYS, "flags", DATA_FINGERPRINT_KEY):
            continue
        if previous.get(key) != json_round_trip(info.get(key)):
            raise UsageError(
                f"{path} holds a run with a different {key.replace('_', ' ')} (the data or "
                "its order changed); resume with the same flags and data, or pass --overwrite"
            )


def check_same_data(path, saved, current):
    """Refuse, in one line, to resume on other data than the run was trained on (see :func:`data_fingerprint`)."""
    if saved is None or current is None:
        return  # a run from before fingerprints (or a caller without one) resumes as before
    if saved == current:
        return
    advice = "resume with the data it was trained on, or pass --overwrite to start over"
    if saved.get("source") != current.get("source"):
        raise UsageError(
            f"--resume: {path} was trained on data {_show(saved.get('source'))}, "
            f"not {_show(current.get('source'))}; {advice}"
        )
    names = sorted(set(saved.get("splits", {})) | set(current.get("splits", {})))
    saved_splits, current_splits = saved.get("splits", {}), current.get("splits", {})
    counts = [
        (name, (saved_splits.get(name) or {}).get("pieces"), (current_splits.get(name) or {}).get("pieces"))
        for name in names
    ]
    changed = [f"{name} {before} pieces, now {after}" for name, before, after in counts if before != after]
    if changed:
        raise UsageError(
            f"--resume: {path} was trained on other pieces of {_show(current.get('source'))} "
            f"({'; '.join(changed)}); {advice}"
        )
    different = [name for name in names if saved_splits.get(name) != current_splits.get(name)]
    raise UsageError(
        f"--resume: {path} was trained on other pieces of {_show(current.get('source'))} "
        f"(the same counts, other piece names in {', '.join(different)}: the data changed); {advice}"
    )


def _show(value):
    return "(not given)" if value is None else json.dumps(value) if not isinstance(value, str) else repr(value)


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def json_round_trip(value):
    """``value`` as ``run.json`` reads it back (NumPy numbers and arrays become plain numbers and lists)."""
    return json.loads(json.dumps(value, default=_plain))


def _without_names(value):
    """A config without its layers' ``name`` entries: Keras numbers them per process ("dense_3"), so a
    resumed run in a process that built other models first would otherwise look like another architecture."""
    if isinstance(value, dict):
        return {key: _without_names(item) for key, item in value.items() if key != "name"}
    if isinstance(value, list):
        return [_without_names(item) for item in value]
    return value

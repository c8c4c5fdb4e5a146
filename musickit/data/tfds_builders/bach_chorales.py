"""TFDS builder: the Bach chorales that ship with music21 (no download).

Splits are musickit's own 70/15/15 split by piece with seed 0
(:func:`musickit.data.splits.piece_splits` over transposition-invariant
content groups), so ``tfds:bach_chorales`` and the ``bach`` source agree.

Example:

>>> import tensorflow_datasets as tfds
>>> import musickit.data.tfds_builders  # noqa: F401
>>> train = tfds.load("bach_chorales", split="train")  # doctest: +SKIP
"""

import tensorflow_datasets as tfds

from musickit.data.sources.corpora import Music21CorpusSource
from musickit.data.splits import content_group, piece_splits
from musickit.data.tfds_builders.features import score_features, score_to_example

CITATION = """\
@inproceedings{cuthbert2010music21,
  title     = {music21: A Toolkit for Computer-Aided Musicology and Symbolic Music Data},
  author    = {Cuthbert, Michael Scott and Ariza, Christopher},
  booktitle = {Proceedings of the 11th International Society for Music Information Retrieval Conference},
  pages     = {637--642},
  year      = {2010}
}
"""


def corpus_source():
    """Where the chorales come from (a function, so tests can point it at dummy data)."""
    return Music21CorpusSource("bach")


class BachChorales(tfds.core.GeneratorBasedBuilder):
    """The music21 Bach chorales as notes in seconds, with tempo and meter."""

    name = "bach_chorales"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release: music21's MusicXML chorales, split 70/15/15 by piece (seed 0)."}

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description="J.S. Bach's four-part chorales from the music21 corpus, as notes in seconds.",
            features=score_features(),
            homepage="https://www.music21.org/music21docs/about/referenceCorpus.html",
            citation=CITATION,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # the corpus ships with music21
        collection = corpus_source().read_scores()
        places = piece_splits([content_group(piece.score) for piece in collection.pieces], seed=0)
        pieces = {"train": [], "validation": [], "test": []}
        for piece, split in zip(collection.pieces, places):
            pieces["validation" if split == "valid" else split].append(piece)
        return {split: self._generate_examples(chosen) for split, chosen in pieces.items()}

    def _generate_examples(self, pieces):
        for piece in pieces:
            yield piece.name, score_to_example(piece.score, name=piece.name, style="bach")

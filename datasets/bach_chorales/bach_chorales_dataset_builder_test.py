"""TFDS test of the bach_chorales builder on the files in ``dummy_data/`` (see ``datasets/make_dummy_data.py``)."""

import os
from unittest import mock

import tensorflow_datasets as tfds

from musickit.data.sources import MidiFolderSource
from musickit.data.tfds_builders import bach_chorales

DUMMY_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dummy_data")


class BachChoralesTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = bach_chorales.BachChorales
    EXAMPLE_DIR = DUMMY_DATA
    SPLITS = {"train": 4, "validation": 1, "test": 1}  # six distinct dummy pieces, split 70/15/15 by piece

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The real builder reads music21's corpus; the test reads six tiny MIDI files instead.
        cls._corpus_patch = mock.patch.object(bach_chorales, "corpus_source", lambda: MidiFolderSource(DUMMY_DATA))
        cls._corpus_patch.start()

    @classmethod
    def tearDownClass(cls):
        cls._corpus_patch.stop()
        super().tearDownClass()


if __name__ == "__main__":
    tfds.testing.test_main()

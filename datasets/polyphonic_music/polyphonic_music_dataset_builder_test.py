"""TFDS test of the polyphonic_music builder on the files in ``dummy_data/`` (see ``datasets/make_dummy_data.py``)."""

import os

import tensorflow_datasets as tfds

from musickit.data.tfds_builders import polyphonic_music


class PolyphonicMusicTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = polyphonic_music.PolyphonicMusic
    EXAMPLE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dummy_data")

    # The configs differ only in their file name; two of them (one with dots and a dash) keep the test fast.
    BUILDER_CONFIG_NAMES_TO_TEST = ["jsb_chorales", "piano_midi"]
    SPLITS = {"train": 3, "validation": 2, "test": 1}


if __name__ == "__main__":
    tfds.testing.test_main()

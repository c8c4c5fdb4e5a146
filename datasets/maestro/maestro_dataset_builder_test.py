"""TFDS test of the maestro builder on the files in ``dummy_data/`` (see ``datasets/make_dummy_data.py``)."""

import os

import tensorflow_datasets as tfds

from musickit.data.tfds_builders import maestro


class MaestroTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = maestro.Maestro
    EXAMPLE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dummy_data")

    SPLITS = {"train": 2, "validation": 1, "test": 1}  # the CSV's corrupt train file is skipped

    def _mock_out_forbidden_os_functions(self):
        """Allow ``os``: the builder reads local MIDI files through musickit.read_midi, which uses it."""


if __name__ == "__main__":
    tfds.testing.test_main()

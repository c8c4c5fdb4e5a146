import os

import numpy as np
import pytest
import scipy.io
import tensorflow_datasets as tfds

from musickit.data.dataset import load_dataset
from musickit.data.sources import TfdsSource, open_source
from musickit.errors import DataSourceError
from musickit.representations.piano_roll import PianoRoll

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POLYPHONIC_DUMMY = os.path.join(REPOSITORY, "datasets", "polyphonic_music", "dummy_data")


def test_tfds_source_reads_a_prepared_builder_with_its_splits(tmp_path):
    import musickit.data.tfds_builders  # noqa: F401 - registers the builders

    builder = tfds.builder("polyphonic_music/jsb_chorales", data_dir=str(tmp_path))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=POLYPHONIC_DUMMY))
    source = TfdsSource("polyphonic_music/jsb_chorales", data_dir=str(tmp_path))
    dataset = load_dataset(source, PianoRoll(steps_per_quarter=1))
    published = scipy.io.loadmat(os.path.join(POLYPHONIC_DUMMY, "JSB_Chorales.mat"))
    for split, key in (("train", "traindata"), ("valid", "validdata"), ("test", "testdata")):
        originals = list(np.ravel(published[key]))
        encoded = dataset.split(split)
        assert len(encoded) == len(originals)
        # TFDS may store examples in any order; match each roll by its name (split/index).
        for roll, metadata in zip(encoded, encoded.metadata):
            original = originals[int(metadata["name"].split("/")[1])]
            np.testing.assert_array_equal(roll, original[: len(roll)])
        assert {metadata["style"] for metadata in encoded.metadata} == {"jsb_chorales"}


def test_unknown_tfds_name_is_a_data_source_error():
    with pytest.raises(DataSourceError, match="tfds:no_such_dataset_here"):
        open_source("tfds:no_such_dataset_here").entries()


def test_missing_manual_files_say_where_to_put_them(tmp_path):
    source = TfdsSource("maestro", data_dir=str(tmp_path))
    with pytest.raises(DataSourceError, match="could not prepare it .*manual.* place maestro-v3.0.0.csv") as caught:
        source.entries()
    assert "\n" not in str(caught.value)

"""Datasets built by musickit's TFDS builders as a data source: ``tfds:NAME``.

``NAME`` may carry a config (``tfds:polyphonic_music/jsb_chorales``). The
builders themselves live in :mod:`musickit.data.tfds_builders`, which this
module imports only when a TFDS source is opened (the builders import the
other sources, never this one, so there is no import circle).

Example:

>>> source = TfdsSource("bach_chorales", max_files=4)  # doctest: +SKIP
>>> sorted({entry.split for entry in source.entries()})  # doctest: +SKIP
['test', 'train', 'valid']
"""

from musickit.data.sources.base import Entry, Source, first_error_line
from musickit.errors import DataSourceError

__all__ = ["TfdsSource"]


class TfdsSource(Source):
    """A dataset built by one of musickit's TFDS builders (``tfds:bach_chorales``, ...).

    ``NAME`` may carry a config (``tfds:polyphonic_music/jsb_chorales``). The
    dataset is prepared on first use when it needs no manual download; its
    train/validation/test splits are kept.
    """

    has_published_splits = True
    progress_verb = "reading"  # TFDS examples are already parsed
    SPLITS = {"train": "train", "valid": "validation", "test": "test"}

    def __init__(self, name, max_files=None, data_dir=None):
        super().__init__(f"tfds:{name}", max_files)
        self.name = name
        self.data_dir = data_dir
        self._builder = None

    def builder(self):
        if self._builder is None:
            import tensorflow_datasets as tfds

            import musickit.data.tfds_builders  # noqa: F401 - registers musickit's builders with TFDS

            try:
                self._builder = tfds.builder(self.name, data_dir=self.data_dir)
            except Exception as error:  # noqa: BLE001 - TFDS raises many kinds for unknown names
                raise DataSourceError(
                    f"tfds:{self.name}: TFDS cannot open it ({first_error_line(error)}); "
                    f"musickit builds bach_chorales, polyphonic_music/<config> and maestro"
                ) from None
            if not self._builder.is_prepared():
                try:
                    self._builder.download_and_prepare()
                except Exception as error:  # noqa: BLE001 - most often a missing manual download
                    instructions = " ".join((self._builder.MANUAL_DOWNLOAD_INSTRUCTIONS or "").split())
                    raise DataSourceError(
                        f"tfds:{self.name}: could not prepare it ({first_error_line(error)}) {instructions}".strip()
                    ) from None
        return self._builder

    def all_entries(self):
        builder = self.builder()
        entries = []
        for split, tfds_split in self.SPLITS.items():
            if tfds_split not in builder.info.splits:
                continue
            count = builder.info.splits[tfds_split].num_examples
            if self.max_files is not None:
                count = min(count, self.max_files)
            entries.extend(Entry(f"{split}/{index:05d}", self.name, index, split) for index in range(count))
        return entries

    def entries(self):
        return self.all_entries()  # max_files already applies per split

    def fingerprint(self):
        builder = self.builder()
        return {
            "tfds": self.name,
            "version": str(builder.info.version),
            "data_dir": builder.data_dir,
            "max_files": self.max_files,
        }

    def read_all(self):
        """Yield ``(entry, score)`` for every example, one pass per split (TFDS examples are always readable)."""
        import tensorflow_datasets as tfds

        from musickit.data.tfds_builders.features import example_to_score

        builder = self.builder()
        for split, tfds_split in self.SPLITS.items():
            if tfds_split not in builder.info.splits:
                continue
            dataset = builder.as_dataset(split=tfds_split, shuffle_files=False)
            if self.max_files is not None:
                dataset = dataset.take(self.max_files)
            for index, example in enumerate(tfds.as_numpy(dataset)):
                score = example_to_score(example)
                # The example's own name is stable; TFDS's reading order need not be.
                entry = Entry(score.metadata.get("name") or f"{split}/{index:05d}", self.name, index, split)
                score.metadata["name"] = entry.name
                yield entry, score

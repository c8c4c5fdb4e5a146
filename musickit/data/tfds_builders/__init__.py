"""TFDS builders for musickit's datasets; importing this package registers them with TFDS.

``tfds:NAME`` sources import it for you. The builders live inside the
package (not only under ``datasets/``) so that an installed musickit can
build and load them; each ``datasets/NAME/`` folder holds the thin module
that ``tfds build datasets/NAME`` expects, the test on dummy data, the dummy
data and the citation.

================================  =========================================
name                              content
================================  =========================================
``bach_chorales``                 the music21 Bach chorales (no download)
``polyphonic_music/<config>``     Boulanger-Lewandowski rolls: configs
                                  ``jsb_chorales``, ``nottingham``,
                                  ``musedata``, ``piano_midi`` (manual dir)
``maestro``                       MAESTRO v3 MIDI + CSV (manual dir)
================================  =========================================

Example:

>>> import tensorflow_datasets as tfds
>>> import musickit.data.tfds_builders  # noqa: F401
>>> dataset = tfds.load("bach_chorales", split="train")  # doctest: +SKIP
"""

from musickit.data.tfds_builders.bach_chorales import BachChorales
from musickit.data.tfds_builders.maestro import Maestro
from musickit.data.tfds_builders.polyphonic_music import PolyphonicMusic

__all__ = ["BachChorales", "Maestro", "PolyphonicMusic"]

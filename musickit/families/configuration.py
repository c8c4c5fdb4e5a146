"""What every family's configuration dataclass shares: presets, validated copies, a JSON form.

A family's configuration is a frozen dataclass that inherits
:class:`FamilyConfig`, sets ``PRESETS`` (``{"smoke": {...}, "cpu": {},
"gpu": {...}}``, changes from its defaults) and ``SAMPLING`` (the sampling
its runs save) after the class, and writes its own ``validate()``.
No Keras is imported.

Example:

>>> import dataclasses
>>> @dataclasses.dataclass(frozen=True)
... class DemoConfig(FamilyConfig):
...     epochs: int = 4
...     def validate(self):
...         return self
>>> DemoConfig.PRESETS = {"smoke": {"epochs": 1}, "cpu": {}, "gpu": {"epochs": 40}}
>>> DemoConfig.preset("smoke").epochs, DemoConfig.preset("gpu", epochs=30).epochs
(1, 30)
"""

import dataclasses

from musickit.errors import UsageError
from musickit.generation.sampling_config import SamplingConfig


class FamilyConfig:
    """Methods shared by the families' configuration dataclasses (see the module docstring)."""

    PRESETS = {}
    SAMPLING = SamplingConfig()

    @classmethod
    def preset(cls, name, **changes):
        """The ``smoke``, ``cpu`` or ``gpu`` configuration, with ``changes`` on top, validated."""
        if name not in cls.PRESETS:
            raise UsageError(f"unknown preset {name!r}; choose one of {', '.join(cls.PRESETS)}")
        return cls(**{**cls.PRESETS[name], **changes}).validate()

    def replace(self, **changes):
        """A copy with ``changes``, validated."""
        return dataclasses.replace(self, **changes).validate()

    def to_dict(self):
        """A JSON-safe dict (the sampling configuration as a dict too)."""
        values = dataclasses.asdict(self)
        if isinstance(getattr(self, "sampling", None), SamplingConfig):
            values["sampling"] = self.sampling.to_dict()
        return values

    @classmethod
    def from_dict(cls, values):
        """The configuration :meth:`to_dict` wrote (its sampling read over the family's ``SAMPLING``)."""
        values = dict(values)
        if "sampling" in values:
            values["sampling"] = SamplingConfig.from_dict(values["sampling"], base=cls.SAMPLING)
        return cls(**values).validate()

    def check_at_least_one(self, names):
        """A one-line error naming the flag of the first of ``names`` below 1."""
        for name in names:
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")

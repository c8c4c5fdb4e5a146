"""Small helpers shared across musickit (atomic writes, progress bars)."""

from musickit.utils.atomic import atomic_path
from musickit.utils.progress import progress

__all__ = ["atomic_path", "progress"]

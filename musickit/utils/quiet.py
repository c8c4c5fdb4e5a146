"""A quiet start: TensorFlow's C++ start-up logs silenced before TensorFlow loads.

Importing TensorFlow prints a block of C++ log lines (absl's "All log messages
before absl::InitializeLog()", cuInit "CUDA error" on a machine without a GPU,
CPU-feature notes) that ``TF_CPP_MIN_LOG_LEVEL`` alone does not stop, because
some are written before that setting is read. :func:`quiet_tensorflow` sets the
log levels and, through an import hook, sends the process' C-level stderr to
``/dev/null`` for exactly the duration of ``import tensorflow``: Python
exceptions still propagate, and everything after the import prints as usual.
``import musickit`` calls it; set ``MUSICKIT_VERBOSE=1`` to see the logs.

Example:

>>> quiet_tensorflow()  # before anything imports tensorflow or keras
"""

import importlib.abc
import importlib.util
import os
import sys

QUIET_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # C++ INFO, WARNING and ERROR lines (cuInit on a CPU machine is an "error")
    "GRPC_VERBOSITY": "ERROR",
    "GLOG_minloglevel": "2",
}


def quiet_tensorflow():
    """Silence TensorFlow's start-up noise, unless ``MUSICKIT_VERBOSE=1``; a no-op once TensorFlow is loaded."""
    if os.environ.get("MUSICKIT_VERBOSE", "0") not in ("", "0"):
        return
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    if "tensorflow" in sys.modules or any(isinstance(finder, _QuietImportFinder) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietImportFinder())


class _QuietImportFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` with the ordinary finders and wraps its loader in :class:`_QuietLoader`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once: the next lookups go straight to the ordinary finders
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with _stderr_to_null():
            self.loader.exec_module(module)
        module.__loader__ = self.loader  # the module looks as if loaded normally (TensorFlow's lazy loaders read it)


class _stderr_to_null:
    """Point file descriptor 2 at /dev/null (C and C++ writers included) and restore it afterwards."""

    def __enter__(self):
        try:
            sys.stderr.flush()
            self.saved = os.dup(2)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)
        except OSError:  # no usable descriptor 2 (some embedded interpreters): stay as we are
            self.saved = None
        return self

    def __exit__(self, *exc_info):
        if self.saved is not None:
            os.dup2(self.saved, 2)
            os.close(self.saved)
        return False

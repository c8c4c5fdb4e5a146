"""Compiling for small runs: JAX's compiled programs kept on disk, quick XLA compiles, eager smoke runs on TensorFlow.

Small runs (``--smoke``, the tests) spend most of their time compiling, not computing: on JAX with
``jit_compile=False`` every distinct operation is compiled once per process (about 1,800 of them in the
hierarchical recipe's smoke run). JAX can keep those programs in a persistent cache; this turns it on,
under ``MUSICKIT_CACHE_DIR`` (default ``~/.cache/musickit``) in ``jax-compilation/``. Other backends
have no such cache: the call does nothing there. ``MUSICKIT_COMPILATION_CACHE=0`` turns it off.

Example:

>>> enable_compilation_cache()  # doctest: +SKIP
'/home/me/.cache/musickit/jax-compilation'
"""

import contextlib
import os
import warnings


def enable_compilation_cache(path=None):
    """Turn on JAX's persistent compilation cache (every program, however quick to compile); return its folder.

    Returns ``None`` (and changes nothing) on TensorFlow and PyTorch, or when
    ``MUSICKIT_COMPILATION_CACHE`` is ``0``.
    """
    import keras

    if keras.config.backend() != "jax" or os.environ.get("MUSICKIT_COMPILATION_CACHE", "1") == "0":
        return None
    import jax

    root = os.environ.get("MUSICKIT_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "musickit")
    path = path or os.path.join(root, "jax-compilation")
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return path


#: XLA's quickest compiles, for tiny programs that run a few steps (``--smoke``, the tests):
#: - no backend (LLVM) optimisation passes: they cost more than they save;
#: - XLA:CPU's older loop emitters instead of its MLIR fusion emitters, which take about twice as long to
#:   compile: a tiny Music Transformer's first fit 8-9.5 s -> 4-4.7 s on JAX, and building it eagerly
#:   (one small program per operation) 9-11 s -> 2.4-4 s. TensorFlow's XLA accepts the flag too.
QUICK_XLA_FLAGS = ("--xla_backend_optimization_level=0", "--xla_cpu_use_fusion_emitters=false")


def compile_quickly():
    """Ask XLA for its quickest compiles, for runs of a few steps (``--smoke``, the tests); return ``XLA_FLAGS``.

    Call it before JAX or TensorFlow compiles anything (XLA reads ``XLA_FLAGS`` once); a setting the user
    gave for one of these flags is kept. On JAX this about halves a smoke run's compile time.

    Example:

    >>> compile_quickly()  # doctest: +SKIP
    '--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false'
    """
    flags = os.environ.get("XLA_FLAGS", "")
    for flag in QUICK_XLA_FLAGS:
        if flag.split("=")[0] not in flags:
            flags = f"{flags} {flag}".strip()
    os.environ["XLA_FLAGS"] = flags
    return flags


@contextlib.contextmanager
def run_smoke_eagerly(enabled=True):
    """Run TensorFlow functions eagerly inside the block when ``enabled``: for runs of a few steps (``--smoke``).

    A smoke run's fits take two steps each, so on TensorFlow nearly all of their time is graph tracing: the
    hierarchical smoke's end-to-end fit took 125 s traced and 8 s eager (under the same load), its baseline
    91 s and 12 s, its style classifier 43 s and 4 s. Generation is better left out: a piece's decoding
    loop compiles once (13 s) and then runs fast, where eager steps took 24 s. Backend-specific on purpose:
    JAX keeps its compiled programs (eager JAX dispatches each of thousands of operations on its own, which
    is slower), and PyTorch runs eagerly anyway. The previous setting comes back when the block ends, so a
    test that calls a recipe's ``main`` does not change the tests after it.

    Example:

    >>> with run_smoke_eagerly():
    ...     pass
    """
    import keras

    if not enabled or keras.config.backend() != "tensorflow":
        yield
        return
    import tensorflow as tf

    before = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        with warnings.catch_warnings():
            # tf.data keeps its own graphs, as it should; TensorFlow warns about that once per dataset.
            warnings.filterwarnings("ignore", message="Even though the `tf.config.experimental_run_functions_eagerly`")
            yield
    finally:
        tf.config.run_functions_eagerly(before)

"""Shared fixtures: scores built from tuples, a private cache folder, a fixed seed; a VAE made to read its latents."""

import os

from musickit.utils.compile_cache import compile_quickly

# The tests' models are tiny, so XLA's compile time dominates on the JAX backend: ask for its quickest
# compiles (see compile_quickly). Set before JAX loads; recipes run as subprocesses inherit it.
compile_quickly()

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from musickit.music.score import Note, Score, TempoChange, TimeSignature  # noqa: E402


def make_notes(tuples, program=0, is_drum=False, instrument=0):
    """Notes from ``(pitch, velocity, start, end)`` tuples, as in note-seq's tests."""
    return [Note(pitch, velocity, start, end, program, is_drum, instrument) for pitch, velocity, start, end in tuples]


def make_score(tuples, qpm=120.0, numerator=4, denominator=4, **metadata):
    return Score(
        notes=make_notes(tuples),
        tempos=[TempoChange(0.0, qpm)],
        time_signatures=[TimeSignature(0.0, numerator, denominator)],
        metadata=dict(metadata),
    )


def _run_cache(tmp_path_factory):
    """The test run's cache folder; under pytest-xdist (``-n 2``) it sits in the run's base folder, above the
    workers' own, so the workers share it."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "musickit-cache"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test gets the same session-wide cache, never the user's ~/.cache.

    Under pytest-xdist (``-n 2``) each worker has its own base folder inside the run's; the cache sits in
    the run's, so the workers share parsed corpora (cache entries are written atomically).
    """
    monkeypatch.setenv("MUSICKIT_CACHE_DIR", str(_run_cache(tmp_path_factory)))
    monkeypatch.setenv("MUSICKIT_PROGRESS", "0")


@pytest.fixture
def eager_fits():
    """TensorFlow runs the test's functions eagerly: for tests of a few one-step fits, whose time on TensorFlow is
    nearly all graph tracing (an interrupted hierarchical trial: 72 s traced). Other backends are untouched."""
    from musickit.utils.compile_cache import run_smoke_eagerly

    with run_smoke_eagerly():
        yield


def pytest_report_header(config):
    return f"KERAS_BACKEND={os.environ.get('KERAS_BACKEND', 'tensorflow (default)')}"


@pytest.fixture(autouse=True, scope="session")
def _shared_compilation_cache(tmp_path_factory):
    """JAX keeps compiled programs for the whole run, so a recipe run again (resumed, reloaded, another test)
    reuses them instead of compiling again; the workers share the folder."""
    from musickit.utils.compile_cache import enable_compilation_cache  # MUSICKIT_COMPILATION_CACHE=0 turns it off

    enable_compilation_cache(str(_run_cache(tmp_path_factory) / "jax-compilation"))  # where recipe processes look


def pytest_collection_modifyitems(config, items):
    """The tests marked ``long`` run first: pytest-xdist hands tests out in this order, so the two workers
    share the long ones instead of one worker finishing alone with a recipe run still ahead of it.

    A module whose tests share an expensive module fixture (a recipe run, a written run folder) names an
    ``xdist_group`` (``--dist loadgroup`` in setup.cfg): its tests go to one worker, so the fixture is built
    once, not once per worker (the piano-roll recipe's smoke run took 30 s and then 17 s again on the other)."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)  # stable: otherwise the file order


def give_latent_projections_weights(model, seed=0):
    """Random latent projections, as training leaves them (they start at zero)."""
    generator = np.random.default_rng(seed)
    for block in model.blocks:
        kernel = block.latent_projection.kernel
        kernel.assign(generator.normal(0.0, 0.5, kernel.shape).astype("float32"))


def load_recipe(name):
    """The module of ``recipes/NAME.py``, loaded from its file (recipes are scripts, not a package)."""
    import importlib.util

    path = os.path.join(os.path.dirname(__file__), "..", "recipes", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"{name}_recipe", os.path.abspath(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

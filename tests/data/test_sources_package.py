"""The data sources package: old import paths keep working, and data/ has no import circle."""

import ast
import pathlib

import pytest
from data_helpers import write_tunes

import musickit
from musickit.data import sources
from musickit.data.sources import base, benchmark_files, combined, corpora, dispatch, midi_folder, tfds_source

PACKAGE_ROOT = pathlib.Path(musickit.__file__).parent

# Where each public name of the old single-file musickit.data.sources lives now.
MOVED = {
    base: ["DEFAULT_SOURCE", "Entry", "Piece", "ScoreCollection", "Source", "SPLIT_NAMES"],
    benchmark_files: [
        "BENCHMARK_LOWEST_PITCH",
        "BENCHMARK_QPM",
        "BENCHMARK_SUFFIXES",
        "BenchmarkFileSource",
        "SAFE_PICKLE_GLOBALS",
        "SafeUnpickler",
        "load_benchmark_rolls",
        "roll_to_score",
    ],
    combined: ["CombinedSource"],
    corpora: ["Music21CorpusSource"],
    dispatch: ["open_source", "read_scores"],
    midi_folder: ["MIDI_SUFFIXES", "MidiFolderSource"],
    tfds_source: ["TfdsSource"],
}


@pytest.mark.parametrize("module", list(MOVED), ids=lambda module: module.__name__.rsplit(".", 1)[-1])
def test_every_old_name_is_still_importable_from_musickit_data_sources(module):
    for name in MOVED[module]:
        assert getattr(sources, name) is getattr(module, name), name
        assert name in sources.__all__


def test_the_data_package_re_exports_the_same_objects():
    import musickit.data as data

    assert data.open_source is dispatch.open_source and data.read_scores is dispatch.read_scores
    assert data.roll_to_score is benchmark_files.roll_to_score and data.DEFAULT_SOURCE == "bach"


def test_read_scores_reads_a_string_or_an_opened_source_alike(tmp_path):
    write_tunes(tmp_path, ["one", "two"])
    by_string = sources.read_scores(str(tmp_path))
    by_method = sources.open_source(str(tmp_path)).read_scores()
    names = [piece.name for piece in by_string.pieces]
    assert names == [piece.name for piece in by_method.pieces] == ["one.mid", "two.mid"]


def module_name(path):
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(packages):
    """``({module: {imported module, ...}}, [private imports])`` over ``packages``.

    Function-level imports and ``__init__`` re-exports count.

    ``from package import name`` is an edge to ``package.name`` when that is a
    module, else to the package's ``__init__`` (which runs all it re-exports).
    """
    paths = {module_name(path): path for package in packages for path in (PACKAGE_ROOT / package).rglob("*.py")}
    graph, private = {}, []
    for module, path in paths.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    edges.add(submodule if submodule in paths else node.module)
                    if alias.name.startswith("_") and node.module.startswith("musickit"):
                        private.append(f"{module} imports {node.module}.{alias.name}")
        graph[module] = {edge for edge in edges if edge in paths and edge != module}
    return graph, private


def find_cycle(graph):
    """One import cycle of ``graph`` as a list of modules, or ``None``."""
    state, stack = {}, []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        state[module] = "done"
        stack.pop()
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_data_and_music_have_no_import_cycle_and_import_no_private_names():
    graph, private = import_graph(["data", "music"])
    assert {"musickit.data.sources.dispatch", "musickit.data.tfds_builders.features"} <= set(graph)
    assert find_cycle(graph) is None
    assert private == []
    # The music layer sits below data: it never imports it.
    assert not [
        module
        for module, edges in graph.items()
        if module.startswith("musickit.music") and any(edge.startswith("musickit.data") for edge in edges)
    ]

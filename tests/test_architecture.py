"""The import architecture of musickit, checked from the source alone (see ARCHITECTURE.md).

Every module under ``musickit/`` is parsed with :mod:`ast` (nothing is imported or
executed) into a graph of module -> imported musickit modules. Three rules hold:

- no import cycle between modules;
- no import from a lower layer to a higher one (``LAYERS`` below, bottom first);
- no private name (``_name``) imported from another module.

Every import counts, also one inside a function: a lazy upward import is still an
upward dependency, and a lazy cycle is still a tangle. Imports under
``if TYPE_CHECKING:`` do not count. ``from package import name`` is an edge to the
submodule ``package.name`` when that exists, else to ``package`` itself (its
``__init__``, whose own imports are in the graph), so re-exports are followed.

Example (what a failure reads like)::

    upward imports (a module may import only from its own layer or below):
      musickit.generation.transformer_run (layer 5, musickit.generation) imports
      musickit.runs.folder (layer 8, musickit.runs), line 12
"""

import ast
import os
import textwrap

import pytest

# Bottom to top. A module may import from its own layer and the layers below.
# A room that exists under musickit/ but is missing here is an error (place it);
# a room listed here that does not exist (yet) is fine.
LAYERS = (
    ("musickit.errors", "musickit.utils"),
    # The package root re-exports the errors and the score types, so it sits with music.
    ("musickit", "musickit.music"),
    ("musickit.representations", "musickit.audio"),
    ("musickit.data",),
    ("musickit.layers", "musickit.losses", "musickit.generation"),
    ("musickit.models",),
    ("musickit.metrics", "musickit.viz"),
    ("musickit.training", "musickit.runs"),
    ("musickit.families",),
    ("musickit.tuning", "musickit.commands", "musickit.demo", "musickit.cli"),
)

# Dunder names are the language's, not a module's private parts.
ALLOWED_PRIVATE_NAMES = frozenset({"__version__", "__all__", "__doc__", "__name__", "__file__"})

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------- the checker


def find_modules(root, package):
    """``{dotted module name: file path}`` for every ``.py`` file of ``root/package``."""
    modules = {}
    for directory, folders, files in os.walk(os.path.join(root, package)):
        folders[:] = sorted(folder for folder in folders if not folder.startswith((".", "__pycache__")))
        relative = os.path.relpath(directory, root)
        prefix = relative.replace(os.sep, ".")
        for file in sorted(files):
            if not file.endswith(".py"):
                continue
            name = prefix if file == "__init__.py" else f"{prefix}.{file[:-3]}"
            modules[name] = os.path.join(directory, file)
    return modules


def _is_package(name, paths):
    return name in paths and paths[name].endswith("__init__.py")


def _resolve_relative(module, level, target, paths):
    """The absolute name of ``from {'.' * level}{target} import ...`` written in ``module``."""
    parts = module.split(".")
    base = parts if _is_package(module, paths) else parts[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([target] if target else []))


def _type_checking_nodes(tree):
    """The import nodes under ``if TYPE_CHECKING:`` (they never run)."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                for child in node.body:
                    skipped.update(id(inner) for inner in ast.walk(child))
    return skipped


def _nodes_inside_functions(tree):
    """The nodes that run only when a function is called (lazy imports)."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside.update(id(child) for child in ast.walk(node) if child is not node)
    return inside


def read_imports(paths, package):
    """Edges ``(importer, imported, line, lazy)`` and private-name uses ``(importer, owner, name, line)``.

    ``lazy`` is true for an import inside a function (it runs when called, not on import).

    ``paths`` maps every module of ``package`` to its file; imports of other
    packages are left out.
    """
    edges, private = [], []
    for module, path in sorted(paths.items()):
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
        skipped = _type_checking_nodes(tree)
        lazy = _nodes_inside_functions(tree)
        module_aliases = {}  # local name -> module it is bound to, for `alias._private`
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == package or alias.name.startswith(package + "."):
                        edges.append((module, alias.name, node.lineno, id(node) in lazy))
                        local = alias.asname or alias.name.split(".")[0]
                        module_aliases[local] = alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                target = node.module or ""
                if node.level:
                    target = _resolve_relative(module, node.level, node.module, paths)
                if not (target == package or target.startswith(package + ".")):
                    continue
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    if submodule in paths:
                        edges.append((module, submodule, node.lineno, id(node) in lazy))
                        module_aliases[alias.asname or alias.name] = submodule
                    else:
                        edges.append((module, target, node.lineno, id(node) in lazy))
                        if _is_private(alias.name):
                            private.append((module, target, alias.name, node.lineno))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in module_aliases
                and _is_private(node.attr)
                and module_aliases[node.value.id] != module
            ):
                private.append((module, module_aliases[node.value.id], node.attr, node.lineno))
    # A module importing its own package's __init__ for a name is an edge like any other,
    # but an import of the module itself (e.g. `from . import x` inside x) is not.
    edges = [edge for edge in edges if edge[0] != edge[1]]
    return edges, private


def _is_private(name):
    return (
        name.startswith("_")
        and name not in ALLOWED_PRIVATE_NAMES
        and not (name.startswith("__") and name.endswith("__"))
    )


def layer_of(module, layers):
    """``(layer number from 1, room)`` of a module, or ``None`` when no room of ``layers`` holds it."""
    best = None
    for number, rooms in enumerate(layers, start=1):
        for room in rooms:
            # The bare package name is a room of its own (the root __init__), never a prefix.
            matches = module == room or ("." in room and module.startswith(room + "."))
            if matches and (best is None or len(room) > len(best[1])):
                best = (number, room)
    return best


def find_cycles(edges):
    """The strongly connected groups of more than one module (Tarjan), each sorted, smallest first."""
    graph = {}
    for importer, imported, *_ in edges:
        graph.setdefault(importer, set()).add(imported)
        graph.setdefault(imported, set())
    index, lowlink, on_stack, stack, groups = {}, {}, set(), [], []
    counter = [0]

    def visit(start):
        # Iterative Tarjan, so a long chain cannot hit the recursion limit.
        work = [(start, iter(sorted(graph[start])))]
        index[start] = lowlink[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = lowlink[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    lowlink[node] = min(lowlink[node], index[child])
            else:
                work.pop()
                if work:
                    lowlink[work[-1][0]] = min(lowlink[work[-1][0]], lowlink[node])
                if lowlink[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups, key=lambda group: (len(group), group))


def _cycle_path(group, edges):
    """One closed path through a cycle group, e.g. ``a -> b -> a``, for the message."""
    members = set(group)
    following = {}
    for importer, imported, *_ in sorted(edges):
        if importer in members and imported in members:
            following.setdefault(importer, []).append(imported)
    path, seen = [group[0]], {group[0]: 0}
    while True:
        step = following[path[-1]][0]
        # Prefer a step that closes the loop back to the start, so the path stays short.
        if group[0] in following[path[-1]]:
            step = group[0]
        if step in seen:
            loop = path[seen[step] :] + [step]
            eager = {(importer, imported) for importer, imported, _, lazy in edges if not lazy}
            text = loop[0]
            for importer, imported in zip(loop, loop[1:]):
                arrow = " -> " if (importer, imported) in eager else " -(in a function)-> "
                text += arrow + imported
            return text
        seen[step] = len(path)
        path.append(step)


def check_cycles(edges):
    """One readable line per import cycle; empty when there is none."""
    return [
        f"cycle through {len(group)} modules ({', '.join(group)}); one loop: {_cycle_path(group, edges)}"
        for group in find_cycles(edges)
    ]


def check_layers(edges, modules, layers):
    """One readable line per upward import, and per module that no layer holds."""
    problems = []
    for module in sorted(modules):
        if layer_of(module, layers) is None:
            problems.append(f"{module} is in no layer; add its room to LAYERS in tests/test_architecture.py")
    for importer, imported, line, lazy in sorted(set(edges)):
        low, high = layer_of(importer, layers), layer_of(imported, layers)
        if low and high and high[0] > low[0]:
            where = f"line {line} (in a function)" if lazy else f"line {line}"
            problems.append(
                f"{importer} (layer {low[0]}, {low[1]}) imports {imported} (layer {high[0]}, {high[1]}), {where}"
            )
    return problems


def check_private_names(private):
    """One readable line per private name used across modules."""
    return [f"{importer} uses {owner}.{name}, line {line}" for importer, owner, name, line in sorted(set(private))]


def _report(title, problems):
    return title + ":\n" + "\n".join("  " + problem for problem in problems)


@pytest.fixture(scope="module")
def musickit_graph():
    paths = find_modules(REPOSITORY, "musickit")
    edges, private = read_imports(paths, "musickit")
    return paths, edges, private


# --------------------------------------------------------------------------- musickit itself


def test_no_import_cycles(musickit_graph):
    _, edges, _ = musickit_graph
    problems = check_cycles(edges)
    assert not problems, _report("import cycles (break each; ARCHITECTURE.md says where things live)", problems)


def test_imports_point_down_the_layers(musickit_graph):
    paths, edges, _ = musickit_graph
    problems = check_layers(edges, paths, LAYERS)
    assert not problems, _report("upward imports (a module may import only from its own layer or below)", problems)


def test_no_private_names_across_modules(musickit_graph):
    _, _, private = musickit_graph
    problems = check_private_names(private)
    assert not problems, _report("private names used across modules (make them public or move the code)", problems)


def test_the_graph_sees_known_edges(musickit_graph):
    # A checker that parses nothing passes everything; these edges exist in any version of the tree.
    paths, edges, _ = musickit_graph
    pairs = {(importer, imported) for importer, imported, *_ in edges}
    assert ("musickit", "musickit.errors") in pairs
    assert ("musickit.metrics.pitch", "musickit.music.keys") in pairs
    assert len(paths) > 50 and len(pairs) > 100


# --------------------------------------------------------------------------- the checker fails when it should


def _write_package(root, files):
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))


@pytest.fixture
def tangled_package(tmp_path):
    """A package with a cycle (through an __init__ re-export), an upward import and a private import."""
    _write_package(
        tmp_path,
        {
            "toy/__init__.py": "",
            "toy/low/__init__.py": "from toy.low.core import helper\n",
            "toy/low/core.py": "def helper():\n    from toy.high import run  # lazy, still upward\n    return run\n",
            "toy/low/other.py": "from toy.low import helper\n_secret = 1\n",
            "toy/low/cyclic.py": "from . import back\n",
            "toy/low/back.py": "from .cyclic import *\n",
            "toy/high/__init__.py": "def run():\n    return 1\n",
            "toy/high/app.py": (
                "from typing import TYPE_CHECKING\n"
                "from toy.low.other import _secret\n"
                "from toy.low import other\n"
                "value = other._secret\n"
                "if TYPE_CHECKING:\n"
                "    from toy.unplaced import thing\n"
            ),
            "toy/unplaced.py": "",
        },
    )
    paths = find_modules(str(tmp_path), "toy")
    edges, private = read_imports(paths, "toy")
    layers = (("toy", "toy.low"), ("toy.high", "toy.missing_room"))
    return paths, edges, private, layers


def test_checker_reports_a_cycle(tangled_package):
    _, edges, _, _ = tangled_package
    assert check_cycles(edges) == [
        "cycle through 2 modules (toy.low.back, toy.low.cyclic); "
        "one loop: toy.low.back -> toy.low.cyclic -> toy.low.back"
    ]


def test_checker_reports_an_upward_import_and_an_unplaced_module(tangled_package):
    paths, edges, _, layers = tangled_package
    assert check_layers(edges, paths, layers) == [
        "toy.unplaced is in no layer; add its room to LAYERS in tests/test_architecture.py",
        "toy.low.core (layer 1, toy.low) imports toy.high (layer 2, toy.high), line 2 (in a function)",
    ]


def test_checker_reports_private_names(tangled_package):
    _, _, private, _ = tangled_package
    assert check_private_names(private) == [
        "toy.high.app uses toy.low.other._secret, line 2",
        "toy.high.app uses toy.low.other._secret, line 4",
    ]


def test_checker_follows_reexports_and_relative_imports(tangled_package):
    _, edges, _, _ = tangled_package
    pairs = {(importer, imported) for importer, imported, *_ in edges}
    assert ("toy.low.other", "toy.low") in pairs  # a name from the package __init__
    assert ("toy.low", "toy.low.core") in pairs  # the __init__'s own re-export
    assert ("toy.high.app", "toy.low.other") in pairs  # `from toy.low import other` is the submodule
    assert ("toy.low.cyclic", "toy.low.back") in pairs  # `from . import back`
    assert ("toy.high.app", "toy.unplaced") not in pairs  # TYPE_CHECKING only


def test_the_package_cycle_through_an_init_is_found(tmp_path):
    # other -> low/__init__ -> core is no cycle; core importing the __init__ back is one.
    _write_package(
        tmp_path,
        {
            "toy/__init__.py": "",
            "toy/low/__init__.py": "from toy.low.core import helper\n",
            "toy/low/core.py": "from toy.low import VALUE\nhelper = VALUE\n",
        },
    )
    paths = find_modules(str(tmp_path), "toy")
    edges, _ = read_imports(paths, "toy")
    assert check_cycles(edges) == [
        "cycle through 2 modules (toy.low, toy.low.core); one loop: toy.low -> toy.low.core -> toy.low"
    ]

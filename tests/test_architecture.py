"""The layering rules of ``src/tympan``, read from the source (``ast``), not from a run:

* no import circle between modules, counting the imports inside functions (an import moved
  into a function to dodge a circle still makes one);
* no private name (``_name``) imported from another module (private *modules* such as
  ``tympan._validate`` are the package's shared helpers and may be imported).

An import of a submodule (``from tympan.pipeline import driver``) is an edge to that submodule;
an import of another name from a package (``from tympan import data``, ``from tympan.pipeline
import predict`` when ``predict`` is a function) is an edge to the package's ``__init__``.
Importing ``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__``; those implicit edges are not
counted (as import-linter and pydeps do not), so a package's ``__init__`` may re-export its
submodules.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "tympan"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_package(name: str, modules: dict[str, Path]) -> bool:
    return name in modules and modules[name].name == "__init__.py"


def _imports(name: str, path: Path, modules: dict[str, Path]):
    """``(target module, imported name or None, line)`` of every import in ``path``, anywhere
    in the file (module level, functions, classes)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if _is_package(name, modules) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in modules:  # a submodule
                    yield sub, None, node.lineno
                else:
                    yield source, alias.name, node.lineno


def _graph():
    modules = _modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private = []
    for name, path in modules.items():
        for target, imported, line in _imports(name, path, modules):
            if target not in modules:  # e.g. an optional module missing: not ours to judge
                continue
            if target != name:
                edges[name].add(target)
            if imported and imported.startswith("_") and not imported.startswith("__"):
                private.append(f"{path.relative_to(SRC)}:{line}: from {target} import {imported}")
    return edges, private


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return sorted(out)


def test_cycle_finder_finds_a_known_circle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(edges) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_import_parser_sees_function_level_and_relative_imports(tmp_path) -> None:
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from tympan.x import _hidden\n    from . import y\n")
    modules = {"tympan.p.m": path, "tympan.p.y": tmp_path / "y.py", "tympan.x": tmp_path / "x.py"}
    found = sorted((t, n) for t, n, _ in _imports("tympan.p.m", path, modules))
    assert found == [("tympan.p.y", None), ("tympan.x", "_hidden")]


def test_no_import_cycles_in_src() -> None:
    edges, _ = _graph()
    cycles = _cycles(edges)
    assert not cycles, "import circles (imports inside functions counted):\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def test_no_private_names_imported_across_modules() -> None:
    _, private = _graph()
    assert not private, "private names imported from another module:\n" + "\n".join(private)

"""The layering rules, read from the source with ``ast`` (nothing is imported).

- No import circle between modules of ``src/tympan``. Every ``import`` counts, the ones inside
  functions and under ``if TYPE_CHECKING:`` too: an import moved into a function hides a circle
  from the interpreter, not from the design.
- No import circle between the packages (``tympan.data``, ``tympan.pipeline``, ...; a top-level
  module is one on its own): each sits above or below each other one.
- No private name crosses a module boundary: ``from tympan.x import _y`` and ``x._y`` on an
  imported tympan module are refused outside ``x``. A private *module* (``tympan.layers._ops``)
  is the package's own helper and may be imported anywhere inside the package that holds it.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "tympan"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _modules() -> dict[str, Path]:
    """Every module of the package, by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in sorted((SRC / ROOT).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _resolve(module: str, level: int, target: str | None) -> str:
    """The absolute name of ``from <level dots><target> import ...`` written in ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _owner(name: str) -> str | None:
    """The longest known module that ``name`` (a dotted import target) lies in."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


class _Imports(ast.NodeVisitor):
    """The tympan modules one module imports, and the private names it takes from others."""

    def __init__(self, module: str):
        self.module = module
        self.edges: dict[str, int] = {}  # imported module -> first line
        self.private: list[str] = []
        self.aliases: dict[str, str] = {}  # local name -> tympan module it is bound to

    def _edge(self, target: str, line: int) -> None:
        if target != self.module:
            self.edges.setdefault(target, line)

    def _check_private_module(self, target: str, line: int) -> None:
        parts = target.split(".")
        for i, part in enumerate(parts):
            if _is_private(part):
                package = ".".join(parts[:i])
                if not (self.module == package or self.module.startswith(package + ".")):
                    self.private.append(f"{self.module}:{line} imports private module {target}")
                return

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] != ROOT:
                continue
            owner = _owner(alias.name)
            if owner:
                self._edge(owner, node.lineno)
                self._check_private_module(owner, node.lineno)
                if alias.asname:
                    self.aliases[alias.asname] = owner

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = _resolve(self.module, node.level, node.module)
        if source.split(".")[0] != ROOT:
            return
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            if submodule in MODULES:  # `from tympan.pkg import module`
                self._edge(submodule, node.lineno)
                self._check_private_module(submodule, node.lineno)
                self.aliases[alias.asname or alias.name] = submodule
                continue
            owner = _owner(source)
            if owner is None:
                continue
            self._edge(owner, node.lineno)
            self._check_private_module(owner, node.lineno)
            if _is_private(alias.name) and owner != self.module:
                self.private.append(f"{self.module}:{node.lineno} imports {owner}.{alias.name}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and _is_private(node.attr):
            owner = self.aliases.get(node.value.id)
            if owner and owner != self.module and f"{owner}.{node.attr}" not in MODULES:
                self.private.append(f"{self.module}:{node.lineno} uses {owner}.{node.attr}")
        self.generic_visit(node)


def _scan() -> dict[str, _Imports]:
    scans = {}
    for module, path in MODULES.items():
        visitor = _Imports(module)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        scans[module] = visitor
    return scans


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


SCANS = _scan()


def _describe(component: list[str]) -> str:
    members = set(component)
    arrows = [
        f"  {module} -> {target} (line {line})"
        for module in component
        for target, line in sorted(SCANS[module].edges.items())
        if target in members
    ]
    return " <-> ".join(component) + "\n" + "\n".join(arrows)


def test_the_scanner_sees_the_package():
    # Known answers, so that an empty scan cannot pass the rules below.
    assert "tympan.dsp.spectrum" in MODULES and "tympan.cli.main" in MODULES
    assert "tympan.io" in SCANS["tympan.dsp.spectrum"].edges or any(
        edge.startswith("tympan.") for edge in SCANS["tympan.dsp.spectrum"].edges
    )
    assert sum(len(scan.edges) for scan in SCANS.values()) > 100


def test_the_cycle_finder_finds_a_known_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    graph = {module: set(scan.edges) for module, scan in SCANS.items()}
    found = _cycles(graph)
    assert not found, "import circles:\n" + "\n".join(_describe(component) for component in found)


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for module, scan in SCANS.items():
        graph.setdefault(_package(module), set()).update(
            _package(target) for target in scan.edges if _package(target) != _package(module))
    for targets in list(graph.values()):
        for target in targets:
            graph.setdefault(target, set())
    found = _cycles(graph)
    arrows = [f"  {module} -> {target}" for module, scan in sorted(SCANS.items()) for target in scan.edges
              if any(_package(module) in c and _package(target) in c and _package(module) != _package(target)
                     for c in found)]
    assert not found, f"import circles between packages: {found}\n" + "\n".join(arrows)


def test_no_private_name_crosses_a_module():
    found = [line for scan in SCANS.values() for line in scan.private]
    assert not found, "private names imported across modules:\n" + "\n".join(sorted(found))

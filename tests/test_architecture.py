"""The dependency direction of ``docs/architecture.md``, checked on the source (issue 12).

Every ``import`` of every module under ``src/cloudcip`` is read with the standard library's ``ast``
(module level, inside functions and under ``TYPE_CHECKING`` alike: a lazy import is still a
dependency). A module belongs to a *unit*: the first name after ``cloudcip`` (a package such as
``access`` or a top-level module such as ``services``). The rules:

- the entry points (``api``, ``cli``, ``console``, ``runtime`` and its access hooks ``runtime_access``)
  are imported by no other unit, except that ``api`` mounts the console and ``cli`` uses the others;
- no cycle between the other units (capability packages and the shared top-level modules), leaving
  out the imports listed in ``KNOWN_CYCLE_EDGES`` with the reason they remain; a listed import that
  no longer exists fails too, so the list only shrinks;
- ``domain`` imports nothing of ours but ``errors`` and ``clock``;
- ``docs/architecture.md`` names every package that exists.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import cloudcip

SOURCE = Path(cloudcip.__file__).parent
DOCS = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
ENTRY_POINTS = frozenset({"api", "cli", "console", "runtime", "runtime_access", "__main__"})
#: which entry point may import which other one
ENTRY_POINT_USES = {"api": {"console", "runtime", "runtime_access"},
                    "cli": {"api", "console", "runtime", "runtime_access"},
                    "console": set(), "runtime": set(), "runtime_access": set(), "__main__": {"cli"}}
#: what ``domain`` (plain types and state machines) may import
DOMAIN_MAY_IMPORT = frozenset({"errors", "clock"})
#: imports that still close a cycle between units, (importer, imported) with why; the cycle check
#: leaves them out. Remove an entry when it is fixed (a listed import that no longer exists fails).
KNOWN_CYCLE_EDGES: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """``(module imported, line)`` for every import of a cloudcip module in ``path``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target == "cloudcip":  # from cloudcip import clock, errors
                for alias in node.names:
                    yield f"cloudcip.{alias.name}", node.lineno
            else:
                yield target, node.lineno


def _unit(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "cloudcip" and len(parts) > 1 else None


def _edges() -> dict[str, dict[str, list[str]]]:
    """unit -> unit it imports -> where (``file:line``)."""
    edges: dict[str, dict[str, list[str]]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = _unit(_module_name(path))
        if source is None:  # cloudcip/__init__.py: the version only
            continue
        for target_module, line in _imports(path):
            target = _unit(target_module)
            if target is None or target == source or target == "__version__":
                continue
            edges.setdefault(source, {}).setdefault(target, []).append(
                f"{path.relative_to(SOURCE.parent)}:{line}")
    return edges


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_capability_packages_never_import_the_entry_points() -> None:
    wrong = [f"{where}: {source} imports cloudcip.{target}"
             for source, targets in _edges().items()
             for target, places in targets.items()
             if target in ENTRY_POINTS and target not in ENTRY_POINT_USES.get(source, set())
             for where in places]
    assert wrong == []


def test_no_cycles_between_capability_packages() -> None:
    edges = _edges()
    graph = {source: {target for target in targets
                      if target not in ENTRY_POINTS and (source, target) not in KNOWN_CYCLE_EDGES}
             for source, targets in edges.items() if source not in ENTRY_POINTS}

    def described(cycle: frozenset[str]) -> str:
        return "; ".join(f"{source} -> {target} ({', '.join(edges[source][target][:3])})"
                         for source in sorted(cycle) for target in sorted(graph[source] & cycle))

    assert [described(cycle) for cycle in _cycles(graph)] == [], "import cycles (see docs/architecture.md)"
    stale = [edge for edge in KNOWN_CYCLE_EDGES if edge[1] not in edges.get(edge[0], {})]
    assert stale == [], "no longer imported: remove from KNOWN_CYCLE_EDGES"


def test_domain_imports_nothing_of_ours_but_errors_and_clock() -> None:
    assert set(_edges().get("domain", {})) <= DOMAIN_MAY_IMPORT


def test_the_architecture_document_names_every_package() -> None:
    packages = {path.parent.name for path in SOURCE.glob("*/__init__.py")}
    listed = set(re.findall(r"^\| `([a-z_]+)/` \|", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE))
    assert sorted(packages - listed) == [], "add the package to docs/architecture.md's table"
    assert sorted(listed - packages) == [], "the table lists a package that does not exist"


def test_the_checker_sees_a_cycle_and_an_upward_import() -> None:
    """The checks above can fail: the same functions find a planted cycle and read relative imports."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    imported = {module for module, _line in _imports(SOURCE / "jobs" / "runner.py")}
    assert {"cloudcip.services", "cloudcip.clock", "cloudcip.jobs.webhooks"} <= imported


#: where a ``ScreeningService`` is built: the wiring's one per process (``runtime.screening_service``),
#: and the fallback of the two capability functions a caller without the wiring may call (tests, a library)
SCREENING_BUILT_IN = frozenset({"runtime.py", "screening/rescreen.py", "verification/applications.py"})


def _constructions(name: str) -> set[str]:
    found = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            called = getattr(node, "func", None)
            if isinstance(node, ast.Call) and name in (getattr(called, "id", None), getattr(called, "attr", None)):
                found.add(path.relative_to(SOURCE).as_posix())
    return found


def test_the_screening_service_is_built_in_one_place() -> None:
    """Issue 12: one screening service (one in-memory index) per process, built by the wiring and
    passed in: the API, the console, the CLI, the job runner and the benchmarks ask
    ``runtime.screening_service`` instead of building their own."""
    built = _constructions("ScreeningService")
    assert "runtime.py" in built
    assert sorted(built - SCREENING_BUILT_IN) == []

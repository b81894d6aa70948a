"""The ``requirement`` and ``control`` markers of the test suite, read from the test files' syntax
(A1, and the coverage matrix of every id).

A test that drives a requirement through the HTTP API or the CLI carries
``@pytest.mark.requirement("B1", "B4")``; a test that exercises a control the written CIP states
carries ``@pytest.mark.control("otp.codes")`` as well. The coverage matrix
(``reports.compliance_matrix``) and the claims check of the written CIP (``reports.controls``) are
built from these markers, not from docstrings.

The files are parsed, never imported, so the scan is quick and needs no fixtures or services. A
marker counts where pytest applies it: on a test function or method, on a test class (every test
in it), in a module's or a class's ``pytestmark``, and in ``pytest.param(..., marks=...)`` of a
parametrised test, written in the decorator or in a module-level list it names (the test then
counts once). Marker arguments must be string literals.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

MARKERS = ("requirement", "control")


@dataclass
class MarkedTest:
    """One test (``tests/x/test_y.py::Class::test_z``) and the ids of each marker it carries."""

    nodeid: str
    marks: dict[str, set[str]] = field(default_factory=dict)

    @property
    def requirements(self) -> set[str]:
        return self.marks.get("requirement", set())

    @property
    def controls(self) -> set[str]:
        return self.marks.get("control", set())


def _marker_name(node: ast.expr) -> str | None:
    """``requirement`` for ``pytest.mark.requirement`` or ``mark.requirement`` (called or not)."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute) and node.attr in MARKERS:
        owner = node.value
        if (isinstance(owner, ast.Attribute) and owner.attr == "mark") or (
                isinstance(owner, ast.Name) and owner.id == "mark"):
            return node.attr
    return None


def _marks_in(node: ast.expr | None, names: dict[str, ast.expr] | None = None,
              seen: frozenset[str] = frozenset()) -> Iterator[tuple[str, set[str]]]:
    """Markers in an expression: one marker, a list or tuple of them, or ``pytest.param(marks=...)``
    calls found inside (a ``parametrize`` decorator's argument values, also when they are a
    module-level list the decorator names)."""
    if node is None:
        return
    if isinstance(node, ast.Name) and names is not None and node.id in names and node.id not in seen:
        yield from _marks_in(names[node.id], names, seen | {node.id})
        return
    name = _marker_name(node)
    if name is not None:
        ids = set()
        if isinstance(node, ast.Call):
            ids = {arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)}
        yield name, ids
        return
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        for element in node.elts:
            yield from _marks_in(element, names, seen)
        return
    if isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg == "marks":
                yield from _marks_in(keyword.value, names, seen)
        for arg in [*node.args, *(keyword.value for keyword in node.keywords if keyword.arg != "marks")]:
            if isinstance(arg, ast.List | ast.Tuple | ast.Call | ast.Name):
                yield from _marks_in(arg, names, seen)


def _merge(into: dict[str, set[str]], found: Iterable[tuple[str, set[str]]]) -> dict[str, set[str]]:
    for name, ids in found:
        into.setdefault(name, set()).update(ids)
    return into


def _pytestmark(body: list[ast.stmt]) -> dict[str, set[str]]:
    marks: dict[str, set[str]] = {}
    for statement in body:
        if isinstance(statement, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "pytestmark" for target in statement.targets):
            _merge(marks, _marks_in(statement.value))
    return marks


def _copy(marks: dict[str, set[str]]) -> dict[str, set[str]]:
    return {name: set(ids) for name, ids in marks.items()}


def _module_names(body: list[ast.stmt]) -> dict[str, ast.expr]:
    """Module-level ``NAME = value`` assignments (a parametrize decorator may name a list of rows)."""
    names: dict[str, ast.expr] = {}
    for statement in body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = statement.value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
            names[statement.target.id] = statement.value
    return names


def _tests_in(body: list[ast.stmt], prefix: str, inherited: dict[str, set[str]],
              names: dict[str, ast.expr]) -> Iterator[MarkedTest]:
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            marks = _copy(inherited)
            for decorator in node.decorator_list:
                _merge(marks, _marks_in(decorator, names))
            yield MarkedTest(f"{prefix}::{node.name}", marks)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            marks = _copy(inherited)
            for decorator in node.decorator_list:
                _merge(marks, _marks_in(decorator, names))
            _merge(marks, _pytestmark(node.body).items())
            yield from _tests_in(node.body, f"{prefix}::{node.name}", marks, names)


def marked_tests_in_file(path: Path, root: Path) -> list[MarkedTest]:
    """Every test of one file with its markers (a file that does not parse has none)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return []
    name = path.relative_to(root).as_posix()
    return list(_tests_in(tree.body, name, _pytestmark(tree.body), _module_names(tree.body)))


def marked_tests(tests_dir: Path) -> list[MarkedTest]:
    """Every test under ``tests_dir`` (files ``test_*.py``), node ids relative to its parent."""
    root = tests_dir.parent
    found: list[MarkedTest] = []
    for path in sorted(tests_dir.rglob("test_*.py")):
        found.extend(marked_tests_in_file(path, root))
    return found


def tests_marked(tests: Iterable[MarkedTest], marker: str, value: str) -> list[str]:
    """The node ids of the tests carrying ``marker`` with ``value`` among its ids."""
    return [test.nodeid for test in tests if value in test.marks.get(marker, set())]

"""The requirement coverage matrix: which modules serve each requirement id and which tests check it
(A1-H3), built from module docstrings and test docstrings, so it cannot drift from the code."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from cloudcip.reports.requirement_ids import REQUIREMENTS

_ID = re.compile(r"\b([A-H][1-8])\b")
_RANGE = re.compile(r"\b([A-H])([1-8])\s*[-\u2013]\s*([A-H])([1-8])\b")
# modules that speak of every id without serving it
_ABOUT_IDS = {"requirement_ids.py", "compliance_matrix.py", "compliance.py"}


@dataclass
class Coverage:
    requirement: str
    title: str
    modules: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.modules and self.tests:
            return "served and tested"
        if self.modules:
            return "served, untested"
        return "not yet served"


def _ids_in(text: str | None) -> set[str]:
    """Ids cited in ``text``; ``B1-B5`` counts as B1 … B5 (a range across letters counts for nothing)."""
    text = text or ""
    found: set[str] = set()
    for letter, first, other_letter, last in _RANGE.findall(text):
        if letter == other_letter:
            found |= {f"{letter}{n}" for n in range(int(first), int(last) + 1)}
    text = _RANGE.sub(" ", text)
    found |= set(_ID.findall(text))
    return {rid for rid in found if rid in REQUIREMENTS}


def _docstrings(path: Path) -> list[tuple[str | None, str]]:
    """(qualifier, docstring) for the module and each function or class in ``path``."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return []
    found: list[tuple[str | None, str]] = [(None, ast.get_docstring(tree) or "")]
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.append((node.name, ast.get_docstring(node) or ""))
    return found


def build_matrix(package_dir: Path, tests_dir: Path | None) -> list[Coverage]:
    rows = {rid: Coverage(rid, title) for rid, title in REQUIREMENTS.items()}
    for path in sorted(package_dir.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module = ".".join(path.relative_to(package_dir.parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        docstrings = _docstrings(path)
        for rid in _ids_in(docstrings[0][1] if docstrings else None):
            if path.name not in _ABOUT_IDS:
                rows[rid].modules.append(module)
    if tests_dir is not None and tests_dir.is_dir():
        for path in sorted(tests_dir.rglob("test_*.py")):
            name = str(path.relative_to(tests_dir.parent))
            cited: set[str] = set()
            for _qualifier, docstring in _docstrings(path):
                cited |= _ids_in(docstring)
            for rid in cited:
                rows[rid].tests.append(name)
    return list(rows.values())


def default_locations() -> tuple[Path, Path | None]:
    package_dir = Path(__file__).resolve().parents[1]
    tests_dir = package_dir.parents[1] / "tests"
    return package_dir, tests_dir if tests_dir.is_dir() else None


def render_markdown(matrix: list[Coverage]) -> str:
    lines = ["| id | requirement | status | modules | tests |", "|---|---|---|---|---|"]
    for row in matrix:
        lines.append(
            f"| {row.requirement} | {row.title} | {row.status} | "
            f"{', '.join(f'`{m}`' for m in row.modules) or '—'} | {', '.join(f'`{t}`' for t in row.tests) or '—'} |"
        )
    return "\n".join(lines) + "\n"

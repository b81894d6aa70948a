"""The coverage matrix comes from the tests' ``requirement`` markers, never from docstrings alone
(A1 and every id): a requirement without a test driving it through the API or the CLI is shown as
not yet served."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudcip.cli.main import app
from cloudcip.reports.compliance_matrix import (
    NOT_YET_SERVED,
    SERVED,
    _ids_in,
    build_matrix,
    render_markdown,
    unknown_requirement_markers,
)
from cloudcip.reports.markers import marked_tests


def test_ids_and_ranges_are_read_from_docstrings() -> None:
    assert _ids_in("serves B1-B5 and C2; not Z9") == {"B1", "B2", "B3", "B4", "B5", "C2"}
    assert _ids_in("every id A1-H3") == set()


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    package = tmp_path / "src" / "pkg"
    (package / "ledger").mkdir(parents=True)
    (package / "ledger" / "store.py").write_text('"""The ledger (B3)."""\n')
    (package / "crypto.py").write_text('"""Keys (B2), retention (B1)."""\n')
    tests = tmp_path / "tests"
    (tests / "api").mkdir(parents=True)
    (tests / "api" / "test_ledger.py").write_text(
        '"""B1 B2 B4 named in a docstring serve nothing."""\n'
        "import pytest\n"
        "pytestmark = pytest.mark.requirement('B3')\n\n"
        "@pytest.mark.requirement('B4')\n"
        "def test_roles():\n    pass\n\n"
        "class TestProofs:\n"
        "    def test_proof(self):\n        pass\n\n"
        "ROWS = [pytest.param(1, marks=pytest.mark.requirement('C1')), 2]\n\n"
        "@pytest.mark.parametrize('x', ROWS)\n"
        "def test_rows(x):\n    pass\n\n"
        "def helper():\n    '''B2'''\n")
    (tests / "api" / "test_library.py").write_text('"""B2: a library-only test, no marker."""\n'
                                                   "def test_keys():\n    pass\n")
    return package, tests


def test_status_comes_from_the_markers_only(tmp_path: Path) -> None:
    package, tests = _tree(tmp_path)
    rows = {row.requirement: row for row in build_matrix(package, tests)}
    assert rows["B3"].tests == ["tests/api/test_ledger.py::TestProofs::test_proof",
                                "tests/api/test_ledger.py::test_roles", "tests/api/test_ledger.py::test_rows"]
    assert rows["B3"].modules == ["pkg.ledger.store"] and rows["B3"].status == SERVED
    assert rows["B4"].tests == ["tests/api/test_ledger.py::test_roles"] and rows["B4"].status == SERVED
    assert rows["C1"].tests == ["tests/api/test_ledger.py::test_rows"]
    assert rows["B2"].modules == ["pkg.crypto"] and rows["B2"].tests == [] and rows["B2"].status == NOT_YET_SERVED
    assert rows["B1"].status == NOT_YET_SERVED
    text = render_markdown(list(rows.values()))
    assert "| B2 |" in text and "**not yet served**" in text and "3 of 34 requirements served" in text


def test_every_requirement_marker_of_the_suite_names_a_known_id() -> None:
    assert unknown_requirement_markers(Path(__file__).resolve().parents[1]) == []


def test_the_scan_reads_the_markers_pytest_applies(request: pytest.FixtureRequest) -> None:
    """For every test this run collected, the syntax scan finds the ``requirement`` and ``control``
    ids pytest applies to it (a marker form the scan does not understand would fail here)."""
    scanned = {test.nodeid: test for test in marked_tests(Path(__file__).resolve().parents[1])}
    applied: dict[str, dict[str, set[str]]] = {}
    for item in request.session.items:
        marks = applied.setdefault(item.nodeid.split("[", 1)[0], {"requirement": set(), "control": set()})
        for name, ids in marks.items():
            for mark in item.iter_markers(name):
                ids.update(str(arg) for arg in mark.args)
    assert applied
    for nodeid, marks in applied.items():
        assert nodeid in scanned, nodeid
        for name, ids in marks.items():
            assert scanned[nodeid].marks.get(name, set()) == ids, (nodeid, name)


@pytest.mark.requirement("A1")
def test_the_matrix_command_prints_markdown_and_json(tmp_path: Path) -> None:
    runner = CliRunner()
    markdown = runner.invoke(app, ["compliance", "matrix"])
    assert markdown.exit_code == 0, markdown.output
    assert "| A1 |" in markdown.stdout and re.search(r"\d+ of \d+ requirements served", markdown.stdout)
    output = tmp_path / "matrix.json"
    assert runner.invoke(app, ["compliance", "matrix", "--format", "json", "-o", str(output)]).exit_code == 0
    rows = {row["requirement"]: row for row in json.loads(output.read_text())}
    assert rows["A1"]["status"] == SERVED
    assert "tests/reports/test_compliance_matrix.py::test_the_matrix_command_prints_markdown_and_json" in \
        rows["A1"]["tests"]
    assert "cip.generated_from_policy" in rows["A1"]["controls"]
    assert runner.invoke(app, ["compliance", "matrix", "--format", "pdf"]).exit_code != 0


def test_the_committed_matrix_is_the_one_the_tests_markers_give() -> None:
    """docs/coverage-matrix.md is a statement to examiners: it must be what the markers of the tests in
    this tree give today, not what they gave when someone last remembered to regenerate it."""
    root = Path(__file__).resolve().parents[2]
    committed = (root / "docs" / "coverage-matrix.md").read_text(encoding="utf-8")
    current = render_markdown(build_matrix(root / "src" / "cloudcip", root / "tests"))
    assert committed == current, ("docs/coverage-matrix.md is stale: regenerate it with "
                                  "`cloudcip compliance matrix -o docs/coverage-matrix.md`")

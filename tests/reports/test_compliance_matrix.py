"""The coverage matrix is built from the code's own docstrings and the tests that cite ids (A1-H3)."""

from __future__ import annotations

from pathlib import Path

from cloudcip.reports.compliance_matrix import _ids_in, build_matrix, render_markdown


def test_ids_and_ranges_are_read_from_docstrings() -> None:
    assert _ids_in("serves B1-B5 and C2; not Z9") == {"B1", "B2", "B3", "B4", "B5", "C2"}
    assert _ids_in("every id A1-H3") == set()


def test_matrix_of_a_small_tree(tmp_path: Path) -> None:
    package = tmp_path / "src" / "pkg"
    (package / "ledger").mkdir(parents=True)
    (package / "ledger" / "store.py").write_text('"""The ledger (B3)."""\n')
    (package / "crypto.py").write_text('"""Keys (B2)."""\n')
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_ledger.py").write_text('"""B3."""\ndef test_x():\n    """also B4"""\n')
    rows = {row.requirement: row for row in build_matrix(package, tests)}
    assert rows["B3"].modules == ["pkg.ledger.store"] and rows["B3"].status == "served and tested"
    assert rows["B2"].status == "served, untested"
    assert rows["B4"].tests == ["tests/test_ledger.py"] and rows["B4"].status == "not yet served"
    assert "| B3 |" in render_markdown(list(rows.values()))

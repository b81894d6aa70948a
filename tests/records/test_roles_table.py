"""B4: the README's role table and ``records/roles.py`` are one source: the table is generated from
the permission grants, and ``cloudcip apikeys roles`` prints the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudcip.cli.main import app
from cloudcip.records.roles import GRANTS, ROLES, role_table_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.requirement("B4")
def test_the_readme_table_is_the_one_the_code_generates() -> None:
    text = README.read_text()
    begin, end = "<!-- roles:begin -->\n", "<!-- roles:end -->"
    assert begin in text and end in text, "README.md lost its roles:begin/roles:end markers"
    table = text[text.index(begin) + len(begin):text.index(end)]
    assert table == role_table_markdown(), (
        "README.md's role table differs from records/roles.py: paste the output of `cloudcip apikeys roles` "
        "between the roles markers")


@pytest.mark.requirement("B4")
def test_cli_prints_the_table() -> None:
    result = CliRunner().invoke(app, ["apikeys", "roles"])
    assert result.exit_code == 0 and result.stdout.strip() == role_table_markdown().strip()


def test_every_role_is_granted_something_and_only_known_roles_are_granted() -> None:
    granted = {role for grant in GRANTS.values() for role in grant.roles}
    assert granted == set(ROLES)
    for grant in GRANTS.values():
        assert grant.purpose <= grant.roles and grant.legal_basis <= grant.roles


# the README's own claims about roles, cell by cell (B4)
@pytest.mark.parametrize(("role", "permission", "held"), [
    ("auditor", "ledger:read", True),
    ("auditor", "screening:read", False),
    ("auditor", "customer:read", False),
    ("admin", "customer:read", False),  # admin reads records only by breaking the glass
    ("admin", "break_glass", True),
    ("admin", "application:read", False),
    ("admin", "sub_lessee:read", False),
    ("signup-service", "access:ingest", False),  # the event-ingest service posts access events
    ("event-ingest", "access:ingest", True),
    ("legal", "customer:unmask", True),
    ("analyst", "customer:unmask", False),
])
def test_cells_the_readme_grants_and_closes(role: str, permission: str, held: bool) -> None:
    assert (role in GRANTS[permission].roles) is held  # type: ignore[index]

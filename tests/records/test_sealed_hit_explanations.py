"""B2, B3, B4, D5: a hit's explanation quotes the screened person (name parts, date of birth): it is
stored sealed, served masked, and unmasked only to a compliance officer stating a purpose, each read on
the ledger; explanations stored in clear before migration 0013 are sealed by ``cloudcip init``."""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from cloudcip.cli.main import app as cli
from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.schema import screening_hit
from cloudcip.screening.snapshots import import_publication

from .conftest import OpenAccount, auth

OFFICER = Actor("test:officer", "compliance-officer")
BIRTH = "1984-03-09"
QUOTED = ("schmitt", BIRTH)  # the screened person's family name (the list says Schmidt) and birth date


def _listed(services: Services) -> None:
    parties = [DesignatedParty(source="test", source_id="77", schema="Person", names=[ListedName("Anna Schmidt")],
                               birth_dates=[BIRTH])]
    import_publication(services, ListPublication("own-csv", "test", parties, [], hashlib.sha256(b"z").hexdigest()),
                       OFFICER)


def _quotes(text: str) -> list[str]:
    return [word for word in QUOTED if word in text.lower()]


@pytest.mark.requirement("B2", "B3", "B4", "D5")
def test_hit_explanations_are_sealed_masked_and_unmasked_with_a_purpose(
        client: TestClient, keys: dict[str, str], open_account: OpenAccount, services: Services) -> None:
    _listed(services)
    answer = open_account(name={"given": "Anna", "family": "Schmitt"}, birth_date=BIRTH)
    analyst = auth(keys["analyst"], X_Access_Purpose="screening review")
    [hit] = client.get(f"/v1/hits?application_id={answer['id']}", headers=analyst).json()["hits"]
    assert hit["explanation"]["masked"] and _quotes(json.dumps(hit["explanation"])) == []
    with services.database.engine.connect() as conn:
        stored = conn.execute(select(screening_hit.c.explanation_json, screening_hit.c.explanation_sealed)
                              .where(screening_hit.c.id == hit["id"])).one()
    assert _quotes(stored.explanation_json) == [] and stored.explanation_sealed is not None
    assert _quotes(bytes(stored.explanation_sealed).decode("latin-1")) == []

    one = client.get(f"/v1/hits/{hit['id']}", headers=analyst)
    assert one.status_code == 200 and one.json()["explanation"]["masked"]
    assert client.get(f"/v1/hits/{hit['id']}?unmask=true", headers=analyst).status_code == 403
    assert client.get(f"/v1/hits/{hit['id']}?unmask=true",
                      headers=auth(keys["compliance-officer"])).status_code == 403  # no purpose stated
    opened = client.get(f"/v1/hits/{hit['id']}?unmask=true",
                        headers=auth(keys["compliance-officer"], X_Access_Purpose="adjudication of a match"))
    assert opened.status_code == 200, opened.text
    assert _quotes(json.dumps(opened.json()["explanation"])) == list(QUOTED)
    reads = [(e["action"], e["role"], e["purpose"]) for e in services.ledger.entries_for_record("screening_hit",
                                                                                               hit["id"])]
    assert reads == [("read", "analyst", "screening review"), ("read", "analyst", "screening review"),
                     ("read_unmasked", "compliance-officer", "adjudication of a match")]  # the list, the hit, unmasked


@pytest.mark.requirement("B2")
def test_init_seals_the_explanations_stored_in_clear_before_migration_0013(
        client: TestClient, keys: dict[str, str], open_account: OpenAccount, services: Services) -> None:
    _listed(services)
    answer = open_account(name={"given": "Anna", "family": "Schmitt"}, birth_date=BIRTH)
    officer = auth(keys["compliance-officer"], X_Access_Purpose="adjudication of a match")
    [hit] = client.get(f"/v1/hits?application_id={answer['id']}", headers=officer).json()["hits"]
    whole = client.get(f"/v1/hits/{hit['id']}?unmask=true", headers=officer).json()["explanation"]
    with services.database.engine.begin() as conn:  # as a row stored before the migration
        conn.execute(update(screening_hit).where(screening_hit.c.id == hit["id"]).values(
            explanation_json=json.dumps(whole), explanation_sealed=None))
    result = CliRunner().invoke(cli, ["--data-dir", str(services.settings.data_dir), "init"],
                                env={"CLOUDCIP_DATABASE_URL": services.settings.database_url})
    assert result.exit_code == 0, result.output
    with services.database.engine.connect() as conn:
        stored = conn.execute(select(screening_hit.c.explanation_json, screening_hit.c.explanation_sealed)
                              .where(screening_hit.c.id == hit["id"])).one()
    assert _quotes(stored.explanation_json) == [] and stored.explanation_sealed is not None
    assert client.get(f"/v1/hits/{hit['id']}?unmask=true", headers=officer).json()["explanation"] == whole

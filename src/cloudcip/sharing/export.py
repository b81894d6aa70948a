"""One STIX 2.1 bundle from one incident report, at one TLP level, scrubbed and recorded (G3, G4, B3).

``export_incident`` opens the report and the subject's record (to know which values are personal),
builds the STIX objects, scrubs them for the level, checks the bundle parses as STIX 2.1, and records
the disclosure (recipient, channel, TLP, the SHA-256 of exactly the bytes that leave) and a ledger
``export`` entry in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import stix2
from sqlalchemy import Connection, select

from cloudcip import clock
from cloudcip.errors import Forbidden
from cloudcip.incidents.service import IncidentReport, IncidentService
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.roles import Actor, may
from cloudcip.sharing.scrubber import scrub
from cloudcip.sharing.stix import incident_objects, provider_identity
from cloudcip.sharing.tlp import TlpLevel
from cloudcip.storage.schema import payment_means

SKIPPED_KEYS = frozenset({"id", "kind", "status", "created_at", "masked", "country", "nationality", "type",
                          "currency", "institution", "method", "result", "received_at", "ownership_percent",
                          "control", "beneficial_owner_id", "email_verification", "phone_verification",
                          "subdivision", "display", "number_of_wallet"})


def _strings(value: Any, key: str = "") -> Iterator[str]:
    if key in SKIPPED_KEYS:
        return
    if isinstance(value, dict):
        for inner_key, inner in value.items():
            yield from _strings(inner, str(inner_key))
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner, key)
    elif isinstance(value, str) and value:
        yield value
        if key == "email":
            yield value.partition("@")[0]


def personal_values(conn: Connection, incidents: IncidentService, customer_id: str) -> list[str]:
    """The subject's personal values: every identifying string of the record, unmasked, and the full
    card numbers; crypto-wallet addresses are left out (a wallet used in abuse is the threat itself)."""
    record = incidents.customers.open_record(conn, customer_id)
    wallets = {item.get("number") for item in record.get("payment_means", []) if item.get("type") == "crypto_wallet"}
    record["payment_means"] = [item for item in record.get("payment_means", []) if item.get("type") != "crypto_wallet"]
    values = [text for text in _strings(record) if text not in wallets]
    sealer = incidents.customers.sealer_in(conn, customer_id)
    for row in conn.execute(select(payment_means.c.id, payment_means.c.number_sealed)
                            .where(payment_means.c.customer_id == customer_id, payment_means.c.type == "card")):
        if row.number_sealed is not None:
            values.append(sealer.open(bytes(row.number_sealed), table="payment_means", column="number", row_id=row.id))
    return values


def bundle_of(report: IncidentReport, level: TlpLevel, provider_name: str, personal: list[str],
              now: datetime) -> dict[str, Any]:
    """The scrubbed bundle (as JSON-ready dict) of one report at one level."""
    objects = incident_objects(report.content, level, provider_identity(provider_name), now)
    raw = [json.loads(item.serialize()) for item in objects]
    kept = scrub(raw, level, personal)
    bundle = stix2.parse({"type": "bundle", "id": f"bundle--{report.id}", "objects": kept}, allow_custom=True)
    parsed: dict[str, Any] = json.loads(bundle.serialize())
    return parsed


def export_incident(incidents: IncidentService, incident_id: str, level: TlpLevel, actor: Actor, *,
                    provider_name: str, recipient: str = "export", channel: str = "export",
                    purpose: str | None = None) -> str:
    """G3/G4: the bundle's JSON text, as it leaves; its disclosure and the export are recorded."""
    if not may(actor.role, "sharing:export"):
        raise Forbidden(f"role {actor.role} may not export shared bundles")
    now = clock.now()
    with incidents.ledger.unit_of_work() as work:
        report = incidents.load(work.conn, incident_id)
        personal = personal_values(work.conn, incidents, report.customer_id)
        text = json.dumps(bundle_of(report, level, provider_name, personal, now), indent=2, sort_keys=True)
        disclosure = incidents.disclose(work.conn, incident_id, recipient=recipient, channel=channel,
                                        format="stix-bundle", sent=text.encode(), actor=actor, tlp=level)
        work.log(LedgerAction(actor.name, actor.role, "export", "incident_report", incident_id, purpose=purpose,
                              detail={"format": "stix-bundle", "tlp": level, "recipient": recipient[:64],
                                      "sha256": disclosure["content_sha256"]}))
    return text

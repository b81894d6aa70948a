"""G3: no personal information not directly related to the threat leaves in any shared object.

A property-based test (hypothesis) stores generated customers full of personal data, makes an
incident report whose summary quotes that data, and exports it at every TLP level: none of the name,
e-mail (nor its local part), phone, card number, national ID, address or birth date appears in any
object, and every bundle passes the OASIS validator (strict). A table of hostile objects (a peer's
bundle re-shared) shows what the allow-list drops.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.sharing.builders import OFFICER, person, store_account
from tests.sharing.validation import assert_valid_bundle

from cloudcip.incidents.service import IncidentService
from cloudcip.runtime import Services
from cloudcip.sharing.export import export_incident
from cloudcip.sharing.scrubber import scrub
from cloudcip.sharing.tlp import TLP_LEVELS

LETTERS = "abcdefghijklmnopqrstuvwxyz"
word = st.text(alphabet=LETTERS, min_size=4, max_size=9)
# each personal value carries a letter outside hexadecimal (q, z, x), so no id or timestamp holds it by chance
names = word.map(lambda w: "Q" + w)
locals_ = word.map(lambda w: "zx" + w)
digits = st.text(alphabet="0123456789", min_size=8, max_size=10)


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    given_name, family = draw(names), draw(names)
    email = f"{draw(locals_)}@{draw(word)}-q.example"
    phone = "+4930" + draw(digits)
    card = "4" + draw(st.text(alphabet="0123456789", min_size=15, max_size=15))
    national_id = "QX" + draw(digits)
    street = draw(names) + "strasse " + str(draw(st.integers(1, 300)))
    birth = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2005, 12, 31)))
    body = person(given_name, family, email=email, phone=phone, card=card, national_id=national_id)
    body["address"]["line1"] = street
    body["birth_date"] = birth.isoformat()
    quoted = draw(st.lists(st.sampled_from([given_name, family, email, phone, card, national_id, street,
                                            birth.isoformat(), f"{given_name} {family}"]), min_size=1, max_size=5))
    body["_summary"] = "Confirmed abuse: " + "; ".join(quoted) + " ran a botnet controller"
    body["_personal"] = [given_name, family, email, email.partition("@")[0], phone, phone[1:], card, national_id,
                         street, birth.isoformat()]
    return body


@pytest.mark.requirement("G3")
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(record=records())
def test_no_personal_value_in_any_shared_object(services: Services, record: dict[str, Any]) -> None:
    summary, personal = record.pop("_summary"), record.pop("_personal")
    _, account_id = store_account(services, record, state="closed",
                                  accesses=[("198.51.100.23", datetime(2026, 2, 1, tzinfo=UTC))])
    incidents = IncidentService(services.database, services.ledger, services.customers)
    report = incidents.create(account_id, summary, OFFICER)
    for level in TLP_LEVELS:
        text = export_incident(incidents, report.id, level, OFFICER, provider_name="Example Cloud Inc.")
        bundle = json.loads(text)
        assert_valid_bundle(bundle)
        lowered = text.casefold()
        for value in personal:
            assert value.casefold() not in lowered, (level, value)
        assert any(o["type"] == "indicator" and "198.51.100.23" in o["pattern"] for o in bundle["objects"])


MARK = ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]
HOSTILE = [
    ({"type": "email-addr", "id": "email-addr--1", "value": "anna@example.de", "display_name": "Anna"}, False),
    ({"type": "identity", "id": "identity--2", "name": "Anna Schmidt", "identity_class": "individual",
      "contact_information": "anna@example.de"}, False),
    ({"type": "user-account", "id": "user-account--3", "user_id": "anna"}, False),
    ({"type": "location", "id": "location--4", "street_address": "Invalidenstr. 117"}, False),
    ({"type": "indicator", "id": "indicator--5", "pattern": "[email-addr:value = 'anna@example.de']",
      "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"}, False),
    ({"type": "indicator", "id": "indicator--6", "pattern": "[user-account:user_id = 'anna']",
      "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"}, False),
    ({"type": "indicator", "id": "indicator--7", "pattern": "[ipv4-addr:value = '203.0.113.9']",
      "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z", "x_holder": "Anna Schmidt"}, True),
    ({"type": "indicator", "id": "indicator--8", "pattern": "[email-addr:value LIKE '%@evil.example']",
      "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"}, True),
    ({"type": "identity", "id": "identity--9", "name": "Example Cloud Inc.", "identity_class": "organization",
      "contact_information": "abuse@example.com"}, True),
]


@pytest.mark.parametrize(("item", "kept"), HOSTILE, ids=[h[0]["id"] for h in HOSTILE])
def test_allow_list_table(item: dict[str, Any], kept: bool) -> None:
    """What the allow-list keeps of objects a peer might send (and we might re-share), at TLP:AMBER."""
    result = scrub([{**item, "object_marking_refs": MARK}], "amber", ["Anna", "Schmidt", "anna@example.de"],
                   closed=False)
    assert bool(result) is kept
    text = json.dumps(result)
    for personal in ("Anna", "Schmidt", "anna@example.de", "abuse@example.com", "Invalidenstr"):
        assert personal not in text

"""Test data for the console: people of every role, a designated-persons list, account openings
that land in review, and screening hits in the register (through the services, as production does)."""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from pydantic import TypeAdapter
from tests import applicants
from tests.applicants import applicant

from cloudcip.console.users import ConsoleUsers
from cloudcip.domain.application import ApplicationRequest
from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.rescreen import rescreen_all
from cloudcip.screening.snapshots import import_publication
from cloudcip.verification.applications import ApplicationService

PASSWORD = "correct horse battery staple"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests only: cheap Argon2id
OPERATOR = Actor("test:operator", "admin")
SIGNUP = Actor("test:signup", "signup-service")
OFFICER = Actor("test:officer", "compliance-officer")
#: username -> role: two of the roles that decide, so four eyes has a second person
PEOPLE: dict[str, str] = {
    "ana": "analyst", "bob": "analyst", "carol": "compliance-officer", "dave": "compliance-officer",
    "lee": "legal", "aud": "auditor", "adm": "admin",
}
APPLICATION: dict[str, Any] = applicant(
    applicants.APPLICATION, account={"type": "standard", "channel": "self_serve", "risk_tier": "high"})
_REQUESTS: TypeAdapter[Any] = TypeAdapter(ApplicationRequest)


def add_people(users: ConsoleUsers, people: dict[str, str] | None = None) -> None:
    users.hasher = FAST_HASHER
    for username, role in (people or PEOPLE).items():
        users.add(username, PASSWORD, role, OPERATOR)


def publish(services: Services, extra: int = 0) -> None:
    """The test list: one listed person (and ``extra`` others, to publish a changed version)."""
    parties = [DesignatedParty(source="test", source_id="42", schema="Person", names=[ListedName("Viktor Bout")],
                               birth_dates=["1967-01-13"], nationalities=["RU"])]
    parties += [DesignatedParty(source="test", source_id=f"9{i}", schema="Person",
                                names=[ListedName(f"Listed Person Number{i}")]) for i in range(extra)]
    import_publication(services, ListPublication("own-csv", "test", parties, [],
                                                 hashlib.sha256(str(extra).encode()).hexdigest()), OFFICER)


@dataclass
class Seeded:
    in_review: list[str] = field(default_factory=list)  # application ids
    customers: list[str] = field(default_factory=list)
    listed_customer: str = ""
    hits: list[str] = field(default_factory=list)


def application(number: int, **changes: Any) -> Any:
    body = copy.deepcopy(APPLICATION)
    body["email"] = f"customer{number}@example.de"
    body["phone"] = f"+49151234567{number % 100:02d}"
    body.update(changes)
    return _REQUESTS.validate_python(body)


def seed(services: Services, applications: ApplicationService, cases: int = 3) -> Seeded:
    """``cases`` high-risk openings (in review), one listed person (hits after a re-screen)."""
    publish(services)
    seeded = Seeded()
    for number in range(cases):
        answer = applications.submit(application(number), SIGNUP)
        seeded.in_review.append(answer["id"])
        seeded.customers.append(answer["customer_id"])
    listed = applications.submit(application(99, name={"given": "Viktor", "family": "Bout"}, birth_date="1967-01-13",
                                             nationality="RU", national_id=None), SIGNUP)
    seeded.listed_customer = listed["customer_id"]
    rescreen_all(services, "list changed", screening=applications.screening,
                 clock=lambda: datetime.now(UTC))
    from sqlalchemy import select

    from cloudcip.screening.schema import screening_hit

    with services.database.engine.connect() as conn:
        seeded.hits = list(conn.execute(select(screening_hit.c.id).where(
            screening_hit.c.subject_id == seeded.listed_customer)).scalars())
    return seeded


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)

"""The CIP contact named in the certification (H1); each change is kept and on the ledger (H2)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import insert

from cloudcip import clock
from cloudcip.errors import FieldIssue, Forbidden, InvalidInput
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.roles import Actor, may
from cloudcip.reports.schema import cip_contact


@dataclass
class ContactService:
    ledger: Ledger
    clock: Callable[[], datetime] = clock.now

    def set(self, *, name: str, email: str, title: str | None, phone: str | None, actor: Actor) -> None:
        if not may(actor.role, "reporting:write"):
            raise Forbidden(f"role {actor.role} may not set the CIP contact")
        problems = []
        if not name.strip() or len(name) > 200:
            problems.append(FieldIssue("name", "1 to 200 characters"))
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            problems.append(FieldIssue("email", "not an e-mail address"))
        if phone is not None and len(phone) > 40:
            problems.append(FieldIssue("phone", "at most 40 characters"))
        if title is not None and len(title) > 200:
            problems.append(FieldIssue("title", "at most 200 characters"))
        if problems:
            raise InvalidInput(fields=problems)
        with self.ledger.unit_of_work() as work:
            result = work.conn.execute(insert(cip_contact).values(
                name=name.strip(), title=title, email=email, phone=phone, set_at=self.clock(), set_by=actor.name))
            work.log(LedgerAction(actor.name, actor.role, "set_cip_contact", "cip_contact",
                                  str(result.inserted_primary_key[0] if result.inserted_primary_key else ""),
                                  purpose="CIP contact changed"))


__all__ = ["ContactService"]

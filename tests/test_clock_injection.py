"""The one clock reaches the services (B3, D1, D5): a frozen clock (or ``--as-of``) is the time the
ledger, the measures register and the screening service read, with no clock of their own."""

from __future__ import annotations

from datetime import UTC, date, datetime

from cloudcip import clock
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.roles import Actor
from cloudcip.screening import measures
from cloudcip.screening.service import ScreeningService
from cloudcip.services import Services

AT = datetime(2031, 5, 17, 9, 30, tzinfo=UTC)


def test_the_services_read_the_one_clock(services: Services) -> None:
    with clock.frozen(AT):
        with services.ledger.unit_of_work() as work:
            work.log(LedgerAction("test:clock", "admin", "probe", "clock", "c1"))
        added = measures.add_measure(services, Actor("test:officer", "compliance-officer"), kind="jurisdiction",
                                     target="IR", measure="prohibit", determination_date=date(2031, 1, 1))
        today = ScreeningService(services)._today()
    [entry] = services.ledger.entries_for_record("clock", "c1")
    assert entry["time"].startswith("2031-05-17T09:30")
    assert clock.utc(added.created_at) == AT and today == date(2031, 5, 17)
    assert clock.now().year != 2031  # the machine's clock again outside the block

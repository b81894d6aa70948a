"""The account's state as its case moves, and its closure (A6, A7, B1, D1).

A case's move sets its account's state (``ACCOUNT_STATE``, never looser than a special
measure in force made it: ``measures_in_force.account_state``). The account's closure is kept apart:

- an account **the provider closed** (``closed_by`` ``provider``: the API, the CLI, an
  ``account.closed`` event) stays closed with its closure time whatever its case does afterwards;
  evidence, deadlines, reviews and re-evaluations move the case, never the account (B1: the
  retention clock runs from the provider's closure, and no decision re-opens or moves it);
- an account that ends through its case (refused, closed) is closed then, unless it had already
  ended: its first closure stands (a second refusal does not move the retention clock);
- an account that opens again (redress) is no longer closed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import NoResultFound

from cloudcip.storage.prepared import Prepared
from cloudcip.storage.schema import account

# the account's state for each state of its case
ACCOUNT_STATE: dict[str, str] = {
    "approved": "active",
    "pending_evidence": "restricted_pending",
    "in_review": "pending_review",
    "refused": "refused",
    "failed": "restricted",
    "closed": "closed",
    "restricted": "restricted",
    "submitted": "pending_review",
}

ENDED = frozenset({"closed", "refused"})
PROVIDER = "provider"

# on every move of a case: built once, run on the driver (``storage.prepared``)
_CLOSURE = Prepared(select(account.c.state, account.c.closed_at, account.c.closed_by)
                    .where(account.c.id == bindparam("account_id")))
_SET_STATE = Prepared(update(account).where(account.c.id == bindparam("account_id")).values(
    state=bindparam("state"), closed_at=bindparam("closed_at"), closed_by=bindparam("closed_by")))


def store_account_state(conn: Connection, account_id: str, state: str, now: datetime,
                        closed_by: str = "verification") -> str:
    """Store ``state`` as the account's (see the module docstring); the state the account has."""
    rows = _CLOSURE.all(conn, {"account_id": account_id})
    if len(rows) != 1:
        raise NoResultFound("no account with that id")
    [(stored_state, closed_at, stored_by)] = rows
    if stored_by == PROVIDER:
        return str(stored_state)
    if state in ENDED:
        ended = closed_at is not None and stored_state in ENDED
        values = {"state": state, "closed_at": closed_at if ended else now,
                  "closed_by": stored_by if ended else closed_by}
    else:
        values = {"state": state, "closed_at": None, "closed_by": None}
    _SET_STATE.execute(conn, {"account_id": account_id, **values})
    return state


__all__ = ["ENDED", "PROVIDER", "store_account_state"]

"""Claims on queue items, so two people do not work the same case or hit at once (A6, D5).

An item is ``case:<application id>`` or ``hit:<hit id>``. A claim holds until its person releases
it, decides the item, or claims it away from nobody else; claiming an item someone else holds is a
conflict that names no one but says it is taken.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from cloudcip import clock
from cloudcip.console.schema import console_claim, console_user
from cloudcip.errors import Conflict
from cloudcip.storage.database import Database


def claim(database: Database, item: str, user_id: str) -> bool:
    """Claim ``item`` for ``user_id``; ``False`` when the person already held it, ``Conflict`` when
    someone else does."""
    with database.write_gate(), database.engine.begin() as conn:
        holder = conn.execute(select(console_claim.c.user_id).where(console_claim.c.item == item)).scalar()
        if holder == user_id:
            return False
        if holder is not None:
            raise Conflict("someone else has claimed this item")
        try:
            conn.execute(insert(console_claim).values(item=item, user_id=user_id, claimed_at=clock.now()))
        except IntegrityError:
            raise Conflict("someone else has claimed this item") from None
    return True


def release(database: Database, item: str, user_id: str) -> bool:
    with database.write_gate(), database.engine.begin() as conn:
        return bool(conn.execute(delete(console_claim).where(
            console_claim.c.item == item, console_claim.c.user_id == user_id)).rowcount)


def clear(database: Database, item: str) -> None:
    """The item was decided: nobody needs to hold it any longer."""
    with database.write_gate(), database.engine.begin() as conn:
        conn.execute(delete(console_claim).where(console_claim.c.item == item))


def holders(database: Database, items: Iterable[str]) -> dict[str, str]:
    """item -> the username of whoever holds it, for the items held."""
    wanted = list(items)
    if not wanted:
        return {}
    with database.engine.connect() as conn:
        rows = conn.execute(select(console_claim.c.item, console_user.c.username)
                            .join_from(console_claim, console_user, console_user.c.id == console_claim.c.user_id)
                            .where(console_claim.c.item.in_(wanted)))
        return {row.item: row.username for row in rows}

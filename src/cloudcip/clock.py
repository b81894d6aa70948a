"""The one source of "now", and the one way cloudcip reads and writes instants.

Deadlines (A6), re-verification (A7), retention (B1), measure effective dates (D1, D4), reseller
clocks (E3), exemption expiry (F1) and reporting due dates (H1-H3) all ask :func:`now`. Tests replace
it with :func:`frozen` (or :func:`set_source`); the CLI's ``--as-of DATE`` runs a command as on that
date the same way. Every instant is timezone-aware UTC: :func:`utc` makes a stored naive value
(SQLite returns them) aware, :func:`iso` writes ``2026-01-01T00:00:00Z``, :func:`parse_instant` reads
a date or a time with or without an offset (no offset means UTC) and names the field when it cannot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time

from cloudcip.errors import InvalidInput

Clock = Callable[[], datetime]


def system_now() -> datetime:
    """The machine's clock, in UTC."""
    return datetime.now(UTC)


_source: Clock = system_now


def now() -> datetime:
    """The current instant (UTC, aware) from the clock in force."""
    return _source()


def today() -> date:
    """Today's date in UTC, from the clock in force."""
    return now().date()


def set_source(source: Clock | None) -> None:
    """Use ``source`` as the clock of this process (``None``: the machine's clock again)."""
    global _source
    _source = source or system_now


@contextmanager
def frozen(at: datetime | date) -> Iterator[datetime]:
    """Within the block, :func:`now` answers ``at`` (a date means its midnight, UTC)."""
    moment = start_of(at) if not isinstance(at, datetime) else utc(at)
    previous = _source
    set_source(lambda: moment)
    try:
        yield moment
    finally:
        set_source(previous)


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC instant; a naive value is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def require_aware(value: datetime, what: str) -> datetime:
    """``value`` itself when it carries an offset; ``ValueError`` naming ``what`` when it is naive (a
    caller's mistake: every instant cloudcip passes around is aware)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    """``2026-01-01T00:00:00Z`` (seconds), or ``None``."""
    if value is None:
        return None
    return utc(value).isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_ms(value: datetime | None) -> str | None:
    """``2026-01-01T00:00:00.123Z`` (milliseconds), or ``None``."""
    if value is None:
        return None
    return utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_instant(text: str, field: str) -> datetime:
    """A date (``2026-01-01``: its midnight) or a time (``2026-01-01T10:00``, ``...Z``, ``...+02:00``)
    as an aware UTC instant; anything else is :class:`InvalidInput` naming ``field`` (not the text)."""
    value = text.strip()
    if not value or len(value) > 40:
        raise InvalidInput.field(field, "not a date (YYYY-MM-DD) or an ISO 8601 time")
    try:
        if len(value) == 10:
            return start_of(date.fromisoformat(value))
        return utc(datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00")))
    except ValueError:
        raise InvalidInput.field(field, "not a date (YYYY-MM-DD) or an ISO 8601 time") from None


def parse_date(text: str, field: str) -> date:
    """A calendar date ``YYYY-MM-DD``; anything else is :class:`InvalidInput` naming ``field``."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput.field(field, "not a date (YYYY-MM-DD)") from None

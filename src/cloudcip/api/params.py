"""Parameter types the API's routers share (C3, and every window of time the API takes).

:data:`Instant` reads a point in time the way ``cloudcip.clock.parse_instant`` does: a date
(``2026-01-01``: its midnight, UTC) or an ISO 8601 time, where a time without an offset is UTC.
Anything else is a 422 naming the parameter (``from``, ``to``), never a 500 and never the value.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from cloudcip import clock
from cloudcip.errors import InvalidInput

INSTANT_HELP = "a date (its midnight, UTC) or an ISO 8601 time; a time without an offset is UTC"


def _read_instant(value: Any) -> Any:
    try:
        if isinstance(value, str):
            return clock.parse_instant(value, "value")
        if isinstance(value, datetime):
            return clock.utc(value)
    except (InvalidInput, OverflowError, ValueError):
        raise ValueError("not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    raise ValueError("not a date (YYYY-MM-DD) or an ISO 8601 time")


Instant = Annotated[
    datetime,
    BeforeValidator(_read_instant),
    WithJsonSchema({"type": "string", "description": INSTANT_HELP,
                    "examples": ["2026-01-01", "2026-01-01T08:00:00Z"]}),
]


def _read_day(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("not a date (YYYY-MM-DD)")


Day = Annotated[
    date,
    BeforeValidator(_read_day),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-01-01"]}),
]
"""A calendar day as ``YYYY-MM-DD`` and nothing else (pydantic alone would take a number as a Unix time)."""

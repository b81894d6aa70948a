"""The access event: who acted on which account, from which IP address, when (C1, C2).

An ``AccessEvent`` is one console login, API call, SSH/serial console session or billing or
administrative change of one account. Times are UTC with millisecond precision; addresses are IPv4
or IPv6 (``ipaddress``). Validation errors carry a reason that never repeats the offending value, so
they can be logged and returned without leaking personal data (an IP address is personal data).

Internally the intake path works on ``EventRow`` tuples (``ROW_FIELDS``), which are much cheaper than
dataclass instances at hundreds of thousands of events per second; ``AccessEvent.to_row`` and
``AccessEvent.from_row`` convert between the two.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cloudcip.errors import FieldIssue, InvalidInput

EventKind = Literal["access", "admin"]
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

KINDS: frozenset[str] = frozenset({"access", "admin"})
MAX_ACCOUNT_ID = 128
MAX_PRINCIPAL = 256
MAX_ACTION = 128
MAX_SOURCE = 64
MAX_EVENT_ID = 128
MAX_USER_AGENT = 1024  # longer user agents are cut to this length (the only field ever shortened)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_V4_PREFIX = b"\x00" * 10 + b"\xff\xff"

# (event_id, account_id, principal, time_ms, ip_bytes, action, kind, user_agent, source)
EventRow = tuple[str | None, str, str, int, bytes, str, str, str | None, str | None]
ROW_FIELDS = ("event_id", "account_id", "principal", "time_ms", "ip", "action", "kind", "user_agent",
              "source")


class EventError(InvalidInput, ValueError):
    """One event is invalid; ``reason`` names the field and the problem, never the value (422)."""

    def __init__(self, reason: str = "", *, fields: Iterable[FieldIssue] = ()) -> None:
        super().__init__(reason, fields=fields)
        self.reason = self.public_detail


class AccessBatchError(InvalidInput, ValueError):
    """A batch was rejected whole; ``errors`` lists every ``(line, reason)`` found in it (422, every
    line named in ``errors``; on the terminal one line each)."""

    title = "batch rejected"

    def __init__(self, errors: list[tuple[int, str]], *, truncated: int = 0) -> None:
        self.errors = errors
        self.truncated = truncated
        shown = "; ".join(f"line {line}: {reason}" for line, reason in errors[:5])
        more = len(errors) - 5 + truncated
        suffix = f"; and {more} more" if more > 0 else ""
        super().__init__(f"batch rejected, {len(errors) + truncated} error(s): {shown}{suffix}",
                         fields=[FieldIssue(f"line {line}", reason) for line, reason in errors])

    def body(self) -> dict[str, Any]:
        return {"error": self.title, "detail": [f"line {line}: {reason}" for line, reason in self.errors],
                "errors": [{"line": line, "reason": reason} for line, reason in self.errors],
                "more_errors": self.truncated}


# --------------------------------------------------------------------------------------------------
# IP addresses as 16 big-endian bytes (IPv4 mapped into IPv6), so that a CIDR is a BETWEEN range


def ip_to_bytes(ip: IpAddress) -> bytes:
    """16 bytes, big-endian; an IPv4 address is mapped into IPv6 (``::ffff:a.b.c.d``)."""
    if ip.version == 4:
        return _V4_PREFIX + ip.packed
    return ip.packed


def bytes_to_ip(raw: bytes) -> IpAddress:
    """Inverse of ``ip_to_bytes``; a mapped IPv4 address comes back as ``IPv4Address``."""
    if raw[:12] == _V4_PREFIX:
        return ipaddress.IPv4Address(raw[12:])
    return ipaddress.IPv6Address(raw)


def network_range(network: str) -> tuple[bytes, bytes]:
    """The inclusive ``(low, high)`` byte range of an IP address or CIDR network.

    Raises ``EventError`` (without the value) when ``network`` is neither.
    """
    try:
        net = ipaddress.ip_network(network.strip(), strict=False)
    except ValueError:
        raise EventError.field("ip", "not an IP address or CIDR network") from None
    if net.version == 4:
        return _V4_PREFIX + net.network_address.packed, _V4_PREFIX + net.broadcast_address.packed
    return net.network_address.packed, net.broadcast_address.packed


_ip_cache: dict[str, bytes] = {}
_IP_CACHE_MAX = 1_000_000


def parse_ip_bytes(value: object, field: str = "ip") -> bytes:
    """Validate an IP address given as text and return its 16-byte form (cached)."""
    if type(value) is not str:
        if value is None:
            raise EventError(f"{field} is missing")
        raise EventError(f"{field} must be a string")
    cached = _ip_cache.get(value)
    if cached is not None:
        return cached
    parts = value.split(".")
    raw: bytes
    if len(parts) == 4 and all(p.isdigit() and p.isascii() and len(p) <= 3 and (p == "0" or p[0] != "0")
                               for p in parts):
        octets = [int(p) for p in parts]
        if max(octets) > 255:
            raise EventError(f"{field} is not a valid IP address")
        raw = _V4_PREFIX + bytes(octets)
    else:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise EventError(f"{field} is not a valid IP address") from None
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.version == 6 and address.scope_id:
            raise EventError(f"{field} must not carry a zone index")
        raw = ip_to_bytes(address)
    if len(_ip_cache) >= _IP_CACHE_MAX:
        _ip_cache.clear()
    _ip_cache[value] = raw
    return raw


# --------------------------------------------------------------------------------------------------
# Times: UTC, milliseconds since the Unix epoch

_day_cache: dict[str, int] = {}  # 'YYYY-MM-DD' -> epoch ms of that day's midnight (UTC)


def parse_time_ms(value: object, field: str = "time") -> int:
    """An ISO 8601 timestamp with a UTC offset (``Z`` or ``+hh:mm``) -> epoch milliseconds (UTC).

    A timestamp without an offset is refused: its meaning would depend on a server's clock zone.
    """
    if type(value) is not str:
        if value is None:
            raise EventError(f"{field} is missing")
        raise EventError(f"{field} must be an ISO 8601 string with a UTC offset")
    # fast path: 2026-03-04T12:34:56.789Z and 2026-03-04T12:34:56Z, once their day was seen whole
    n = len(value)
    if (n == 24 or n == 20) and value[-1] == "Z":
        base = _day_cache.get(value[:10])
        if base is not None and value[10] == "T" and value[13] == ":" and value[16] == ":" \
                and (n == 20 or value[19] == "."):
            digits = value[11:13] + value[14:16] + value[17:19] + (value[20:23] if n == 24 else "000")
            if digits.isascii() and digits.isdigit():
                hours, minutes, seconds = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
                if hours < 24 and minutes < 60 and seconds < 60:
                    return base + ((hours * 60 + minutes) * 60 + seconds) * 1000 + int(digits[6:])
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise EventError(f"{field} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise EventError(f"{field} has no UTC offset")
    millis = (moment - _EPOCH) // timedelta(milliseconds=1)
    if millis < 0 or millis >= 253_402_300_800_000:
        raise EventError(f"{field} is out of range")
    if (n == 24 or n == 20) and value[-1] == "Z" and value[10] == "T" and len(_day_cache) < 400_000:
        _day_cache[value[:10]] = millis - ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1000 \
            - moment.microsecond // 1000
    return int(millis)


def epoch_ms_to_time_ms(value: object, field: str = "time") -> int:
    """Validate epoch milliseconds given as an integer (OCSF ``timestamp_t``)."""
    if type(value) is not int or value < 0 or value >= 253_402_300_800_000:
        raise EventError(f"{field} must be epoch milliseconds")
    return value


def ms_to_datetime(millis: int) -> datetime:
    """Epoch milliseconds -> aware UTC ``datetime``."""
    return _EPOCH + timedelta(milliseconds=millis)


def datetime_to_ms(moment: datetime) -> int:
    """Aware ``datetime`` -> epoch milliseconds (naive values are refused)."""
    if moment.tzinfo is None:
        raise EventError("time has no UTC offset")
    return (moment - _EPOCH) // timedelta(milliseconds=1)


# --------------------------------------------------------------------------------------------------
# Text fields


def text_field(value: object, field: str, limit: int, *, required: bool = True) -> str | None:
    """A non-empty string of at most ``limit`` characters (``None`` allowed when not required)."""
    if value is None:
        if required:
            raise EventError(f"{field} is missing")
        return None
    if type(value) is not str:
        raise EventError(f"{field} must be a string")
    if not value or value.isspace():
        if required:
            raise EventError(f"{field} is empty")
        return None
    if len(value) > limit:
        if field == "user_agent":
            return value[:limit]
        raise EventError(f"{field} is longer than {limit} characters")
    return value


def kind_field(value: object, field: str = "kind") -> str:
    if value not in KINDS:
        raise EventError(f"{field} must be 'access' or 'admin'")
    return str(value)


def make_row(
    *,
    event_id: object,
    account_id: object,
    principal: object,
    time_ms: int,
    ip: object,
    action: object,
    kind: object,
    user_agent: object = None,
    source: object = None,
) -> EventRow:
    """Validate the fields of one event and return its ``EventRow``."""
    account = text_field(account_id, "account_id", MAX_ACCOUNT_ID)
    actor = text_field(principal, "principal", MAX_PRINCIPAL)
    verb = text_field(action, "action", MAX_ACTION)
    assert account is not None and actor is not None and verb is not None
    return (
        text_field(event_id, "id", MAX_EVENT_ID, required=False),
        account,
        actor,
        time_ms,
        parse_ip_bytes(ip),
        verb,
        kind_field(kind),
        text_field(user_agent, "user_agent", MAX_USER_AGENT, required=False),
        text_field(source, "source", MAX_SOURCE, required=False),
    )


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """One access or administrative action on one account (C1)."""

    account_id: str
    principal: str
    time: datetime
    ip: IpAddress
    action: str
    kind: EventKind = "access"
    user_agent: str | None = None
    source: str | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        # validate the same way the parsers do; normalise time to UTC milliseconds
        row = self.to_row()
        object.__setattr__(self, "time", ms_to_datetime(row[3]))
        object.__setattr__(self, "user_agent", row[7])
        if self.ip.version == 6 and self.ip.ipv4_mapped is not None:
            object.__setattr__(self, "ip", self.ip.ipv4_mapped)

    @property
    def time_ms(self) -> int:
        return datetime_to_ms(self.time)

    def to_row(self) -> EventRow:
        if not isinstance(self.time, datetime):
            raise EventError("time must be a datetime")
        if not isinstance(self.ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
            raise EventError("ip must be an ipaddress address")
        return make_row(event_id=self.id, account_id=self.account_id, principal=self.principal,
                        time_ms=datetime_to_ms(self.time), ip=str(self.ip), action=self.action,
                        kind=self.kind, user_agent=self.user_agent, source=self.source)

    @classmethod
    def from_row(cls, row: EventRow) -> AccessEvent:
        kind: EventKind = "admin" if row[6] == "admin" else "access"
        return cls(account_id=row[1], principal=row[2], time=ms_to_datetime(row[3]),
                   ip=bytes_to_ip(row[4]), action=row[5], kind=kind, user_agent=row[7], source=row[8],
                   id=row[0])

    @classmethod
    def from_mapping(cls, fields: Mapping[str, Any]) -> AccessEvent:
        """Build from cloudcip's own JSON field names (``time`` as ISO 8601 text)."""
        row = make_row(event_id=fields.get("id"), account_id=fields.get("account_id"),
                       principal=fields.get("principal"), time_ms=parse_time_ms(fields.get("time")),
                       ip=fields.get("ip"), action=fields.get("action"), kind=fields.get("kind"),
                       user_agent=fields.get("user_agent"), source=fields.get("source"))
        return cls.from_row(row)

    def to_json_dict(self) -> dict[str, Any]:
        """cloudcip's JSON-lines form of this event."""
        out: dict[str, Any] = {
            "account_id": self.account_id,
            "principal": self.principal,
            "time": format_time_ms(self.time_ms),
            "ip": str(self.ip),
            "action": self.action,
            "kind": self.kind,
        }
        for key in ("user_agent", "source", "id"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def format_time_ms(millis: int) -> str:
    """Epoch milliseconds -> ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    return ms_to_datetime(millis).strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"

"""Intake formats of access events (C2): cloudcip JSON lines, OCSF, CloudTrail-style records.

- ``jsonl``: cloudcip's own schema, one JSON object per line (or one JSON array of them):
  ``{"id", "account_id", "principal", "time" (ISO 8601 with offset), "ip", "action",
  "kind" ("access"|"admin"), "user_agent", "source"}``.
- ``ocsf``: OCSF records of class API Activity (``class_uid`` 6003) and Authentication (3002), one
  per line or in an array. Account: ``cloud.account.uid`` (or ``actor.user.account.uid``);
  principal: ``actor.user.uid``/``name``; IP: ``src_endpoint.ip``; time: ``time`` (epoch ms) or
  ``time_dt``; action: ``api.operation`` (6003) or ``activity_name`` (3002); id: ``metadata.uid``.
  API Activity Create/Update/Delete (``activity_id`` 1, 3, 4) count as ``admin``.
- ``cloudtrail``: CloudTrail-style records, in ``{"Records": [...]}`` documents (one per file or one
  per line) or one record per line: ``eventTime``, ``sourceIPAddress``, ``userIdentity``,
  ``eventName``, ``eventID``, ``eventSource``, ``userAgent``; the account is ``recipientAccountId``
  or ``userIdentity.accountId``; ``readOnly: false`` makes an ``admin`` event.

JSON is decoded with orjson (several times faster than the standard library); when a line fails, the
standard library decodes it again for its error message, so reasons stay the same. Lines of
cloudcip's own schema are first decoded with msgspec into a typed structure (types, lengths and
``kind`` checked in C); a line that does not fit it takes the orjson path above, which gives the
same rows and the same reasons as before.
Input may be plain or gzip (detected by its magic bytes); a gzip body may expand to at most
``MAX_INFLATED_BYTES``. A batch is accepted whole or rejected
whole: ``AccessBatchError`` lists every ``(line, reason)``; in array documents "line" is the
1-based position of the record in the array. Reasons never contain the offending value.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Annotated, Any, Literal, cast

import msgspec
import orjson

from cloudcip.access.events import (
    MAX_ACCOUNT_ID,
    MAX_ACTION,
    MAX_EVENT_ID,
    MAX_PRINCIPAL,
    MAX_SOURCE,
    MAX_USER_AGENT,
    AccessBatchError,
    AccessEvent,
    EventError,
    EventRow,
    epoch_ms_to_time_ms,
    make_row,
    parse_ip_bytes,
    parse_time_ms,
)

Format = Literal["jsonl", "ocsf", "cloudtrail"]
FORMATS: tuple[str, ...] = ("jsonl", "ocsf", "cloudtrail")
GZIP_MAGIC = b"\x1f\x8b"
MAX_ERRORS = 10_000  # errors listed per batch; the count of the rest is kept
MAX_INFLATED_BYTES = 256 << 20  # a gzip batch may not expand beyond this (a "zip bomb" is refused)

__all__ = [
    "FORMATS",
    "AccessBatchError",
    "Format",
    "is_gzip",
    "open_event_stream",
    "parse_events",
    "parse_lines",
    "parse_rows",
    "row_parser",
]


def _dig(obj: Any, *keys: str) -> Any:
    for key in keys:
        if type(obj) is not dict:
            return None
        obj = obj.get(key)
    return obj


def _require_object(obj: Any) -> dict[str, Any]:
    if type(obj) is not dict:
        raise EventError("record is not a JSON object")
    return obj


def row_from_cloudcip(obj: Any) -> EventRow:
    """One cloudcip JSON object -> ``EventRow``."""
    if type(obj) is not dict:
        raise EventError("record is not a JSON object")
    get = obj.get
    account, principal, action, kind = get("account_id"), get("principal"), get("action"), get("kind")
    event_id, agent, source = get("id"), get("user_agent"), get("source")
    # fast path: every field well formed (the common case); anything else takes make_row's checks
    if (type(account) is str and 0 < len(account) <= MAX_ACCOUNT_ID and account[0] > " "
            and type(principal) is str and 0 < len(principal) <= MAX_PRINCIPAL and principal[0] > " "
            and type(action) is str and 0 < len(action) <= MAX_ACTION and action[0] > " "
            and (kind == "access" or kind == "admin")
            and (event_id is None or (type(event_id) is str and 0 < len(event_id) <= MAX_EVENT_ID
                                      and event_id[0] > " "))
            and (agent is None or (type(agent) is str and 0 < len(agent) <= MAX_USER_AGENT and agent[0] > " "))
            and (source is None or (type(source) is str and 0 < len(source) <= MAX_SOURCE and source[0] > " "))):
        return cast(EventRow, (event_id, account, principal, parse_time_ms(get("time")),
                               parse_ip_bytes(get("ip")), action, kind, agent, source))
    return make_row(event_id=get("id"), account_id=get("account_id"), principal=get("principal"),
                    time_ms=parse_time_ms(get("time")), ip=get("ip"), action=get("action"),
                    kind=get("kind"), user_agent=get("user_agent"), source=get("source"))


_SKIP: Any = object()


def _load(line: bytes | str, number: int, errors: list[tuple[int, str]]) -> Any:
    """One line decoded by orjson; on failure the standard library decodes it again for the reason,
    which is added to ``errors``. ``_SKIP`` for a blank or bad line."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        if not line.strip():
            return _SKIP
        try:
            return json.loads(line)
        except ValueError as exc:
            errors.append((number, _json_reason(exc)))
            return _SKIP


class _CloudcipLine(msgspec.Struct):
    """The well-formed shape of a cloudcip JSON line (anything else takes ``row_from_cloudcip``)."""

    account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ACCOUNT_ID)]
    principal: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PRINCIPAL)]
    time: str
    ip: str
    action: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ACTION)]
    kind: Literal["access", "admin"]
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_EVENT_ID)] | None = None
    user_agent: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_USER_AGENT)] | None = None
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SOURCE)] | None = None


_decode_cloudcip_line = msgspec.json.Decoder(_CloudcipLine).decode


def _parse_cloudcip_lines(
    lines: Iterable[bytes | str], first_line: int
) -> tuple[list[EventRow], list[tuple[int, str]]]:
    """``parse_lines`` for the ``jsonl`` format: msgspec for well-formed lines, the general path
    (same rows, same reasons) for the rest."""
    rows: list[EventRow] = []
    errors: list[tuple[int, str]] = []
    append = rows.append
    decode = _decode_cloudcip_line
    failure = (msgspec.DecodeError, ValueError)  # ValidationError is a DecodeError; bad UTF-8 a ValueError
    number = first_line - 1
    for line in lines:
        number += 1
        try:
            event = decode(line)
        except failure:
            event = None
        if event is not None:
            account, principal, action = event.account_id, event.principal, event.action
            event_id, agent, source = event.id, event.user_agent, event.source
            if (account[0] > " " and principal[0] > " " and action[0] > " "
                    and (event_id is None or event_id[0] > " ") and (agent is None or agent[0] > " ")
                    and (source is None or source[0] > " ")):
                try:
                    append((event_id, account, principal, parse_time_ms(event.time), parse_ip_bytes(event.ip),
                            action, event.kind, agent, source))
                except EventError as exc:
                    errors.append((number, exc.reason))
                continue
        obj = _load(line, number, errors)
        if obj is _SKIP:
            continue
        try:
            append(row_from_cloudcip(obj))
        except EventError as exc:
            errors.append((number, exc.reason))
    return rows, errors


_AUTH_ACTIVITY = {0: "unknown", 1: "logon", 2: "logoff", 3: "authentication_ticket",
                  4: "service_ticket", 5: "service_ticket_renew", 6: "preauth", 99: "other"}


def row_from_ocsf(obj: Any) -> EventRow:
    """One OCSF API Activity (6003) or Authentication (3002) record -> ``EventRow``."""
    record = _require_object(obj)
    class_uid = record.get("class_uid")
    if class_uid not in (6003, 3002):
        raise EventError("class_uid is not 6003 (API Activity) or 3002 (Authentication)")
    if "time" in record:
        time_ms = epoch_ms_to_time_ms(record["time"], "time")
    elif "time_dt" in record:
        time_ms = parse_time_ms(record["time_dt"], "time_dt")
    else:
        raise EventError("time is missing")
    account = _dig(record, "cloud", "account", "uid") or _dig(record, "actor", "user", "account", "uid")
    if account is None:
        raise EventError("cloud.account.uid is missing")
    user = _dig(record, "actor", "user")
    principal = _dig(user, "uid") or _dig(user, "name") or _dig(user, "credential_uid")
    if principal is None:
        raise EventError("actor.user.uid is missing")
    ip = _dig(record, "src_endpoint", "ip")
    if ip is None:
        raise EventError("src_endpoint.ip is missing")
    activity_id = record.get("activity_id")
    if class_uid == 6003:
        action = _dig(record, "api", "operation")
        if action is None:
            raise EventError("api.operation is missing")
        kind = "admin" if activity_id in (1, 3, 4) else "access"
    else:
        action = record.get("activity_name")
        if action is None:
            action = "authentication." + _AUTH_ACTIVITY.get(activity_id, "other") \
                if type(activity_id) is int else None
        if action is None:
            raise EventError("activity_name is missing")
        kind = "access"
    source = _dig(record, "metadata", "product", "name") or "ocsf"
    return make_row(event_id=_dig(record, "metadata", "uid"), account_id=account, principal=principal,
                    time_ms=time_ms, ip=ip, action=action, kind=kind,
                    user_agent=_dig(record, "http_request", "user_agent"), source=source)


def row_from_cloudtrail(obj: Any) -> EventRow:
    """One CloudTrail-style record -> ``EventRow``."""
    record = _require_object(obj)
    identity = record.get("userIdentity")
    if identity is not None and type(identity) is not dict:
        raise EventError("userIdentity is not a JSON object")
    account = record.get("recipientAccountId") or _dig(identity, "accountId")
    if account is None:
        raise EventError("recipientAccountId is missing")
    principal = (_dig(identity, "arn") or _dig(identity, "userName") or _dig(identity, "principalId"))
    if principal is None:
        raise EventError("userIdentity.arn is missing")
    if "sourceIPAddress" not in record:
        raise EventError("sourceIPAddress is missing")
    kind = "admin" if record.get("readOnly") is False else "access"
    return make_row(event_id=record.get("eventID"), account_id=account, principal=principal,
                    time_ms=parse_time_ms(record.get("eventTime"), "eventTime"),
                    ip=record.get("sourceIPAddress"), action=record.get("eventName"), kind=kind,
                    user_agent=record.get("userAgent"), source=record.get("eventSource") or "cloudtrail")


_PARSERS: dict[str, Callable[[Any], EventRow]] = {
    "jsonl": row_from_cloudcip,
    "ocsf": row_from_ocsf,
    "cloudtrail": row_from_cloudtrail,
}


def row_parser(fmt: str) -> Callable[[Any], EventRow]:
    """The record parser of a format name (``jsonl``, ``ocsf``, ``cloudtrail``)."""
    try:
        return _PARSERS[fmt]
    except KeyError:
        raise ValueError(f"unknown access event format (expected one of {', '.join(FORMATS)})") from None


def is_gzip(head: bytes) -> bool:
    return head[:2] == GZIP_MAGIC


def _json_reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg} at column {exc.colno})"
    if isinstance(exc, UnicodeDecodeError):
        return "not valid UTF-8"
    return "invalid JSON"


def parse_lines(
    lines: Iterable[bytes | str], fmt: str, first_line: int = 1
) -> tuple[list[EventRow], list[tuple[int, str]]]:
    """Parse JSON lines; return the rows and every ``(line number, reason)`` error.

    Blank lines are skipped. A CloudTrail line may hold a whole ``{"Records": [...]}`` document.
    """
    parse = _PARSERS.get(fmt) or row_parser(fmt)
    if fmt == "jsonl":
        return _parse_cloudcip_lines(lines, first_line)
    rows: list[EventRow] = []
    errors: list[tuple[int, str]] = []
    append = rows.append
    cloudtrail = fmt == "cloudtrail"
    number = first_line - 1
    for line in lines:
        number += 1
        obj = _load(line, number, errors)
        if obj is _SKIP:
            continue
        try:
            if cloudtrail and type(obj) is dict and "Records" in obj:
                records = obj["Records"]
                if type(records) is not list:
                    raise EventError("Records is not a JSON array")
                for record in records:
                    append(parse(record))
            else:
                append(parse(obj))
        except EventError as exc:
            errors.append((number, exc.reason))
    return rows, errors


def _decompress(data: bytes, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """Gunzip ``data`` (several members allowed) if it is gzip; refuse output beyond ``limit``."""
    if not is_gzip(data):
        return data
    parts: list[bytes] = []
    size = 0
    rest = data
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=31)
            chunk = inflater.decompress(rest, limit - size + 1)
            size += len(chunk)
            parts.append(chunk)
            if size > limit or inflater.unconsumed_tail:
                raise AccessBatchError([(0, f"gzip data expands beyond {limit} bytes")])
            if not inflater.eof:
                raise AccessBatchError([(0, "corrupt gzip data")])
            rest = inflater.unused_data.lstrip(b"\x00")
    except zlib.error:
        raise AccessBatchError([(0, "corrupt gzip data")]) from None
    return b"".join(parts)


def _document_records(document: Any, fmt: str) -> list[Any] | None:
    """The records of a whole-document input (array or ``Records``), or ``None`` if not one."""
    if type(document) is list:
        return document
    if type(document) is dict and "Records" in document and fmt == "cloudtrail":
        records = document["Records"]
        if type(records) is not list:
            raise AccessBatchError([(1, "Records is not a JSON array")])
        return records
    return None


def parse_records(records: list[Any], fmt: str) -> tuple[list[EventRow], list[tuple[int, str]]]:
    """Parse decoded records (array elements); errors are numbered by position (1-based)."""
    parse = row_parser(fmt)
    rows: list[EventRow] = []
    errors: list[tuple[int, str]] = []
    for position, record in enumerate(records, start=1):
        try:
            rows.append(parse(record))
        except EventError as exc:
            errors.append((position, exc.reason))
    return rows, errors


def parse_rows(data: bytes | str, fmt: str = "jsonl") -> list[EventRow]:
    """Parse one batch (JSON array, ``Records`` document or JSON lines; plain or gzip).

    Raises ``AccessBatchError`` with every error if any record is bad: all or nothing.
    """
    row_parser(fmt)
    raw = _decompress(data.encode() if isinstance(data, str) else data)
    stripped = raw.lstrip()
    if not stripped:
        return []
    if stripped[:1] == b"[" or (stripped[:1] == b"{" and fmt == "cloudtrail"):
        try:
            document = orjson.loads(raw)
        except ValueError:
            try:
                document = json.loads(raw)
            except ValueError as exc:
                if stripped[:1] == b"[":
                    raise AccessBatchError([(1, _json_reason(exc))]) from None
                document = None
        records = _document_records(document, fmt) if document is not None else None
        if records is not None:
            rows, errors = parse_records(records, fmt)
            _raise_if_errors(errors)
            return rows
    rows, errors = parse_lines(raw.splitlines(), fmt)
    _raise_if_errors(errors)
    return rows


def _raise_if_errors(errors: list[tuple[int, str]]) -> None:
    if errors:
        raise AccessBatchError(errors[:MAX_ERRORS], truncated=max(0, len(errors) - MAX_ERRORS))


def parse_events(data: bytes | str, fmt: str = "jsonl") -> list[AccessEvent]:
    """Like ``parse_rows`` but returns ``AccessEvent`` objects."""
    return [AccessEvent.from_row(row) for row in parse_rows(data, fmt)]


def open_event_stream(path: str) -> IO[bytes]:
    """Open a file of events for reading, decompressing gzip when its magic bytes say so."""
    handle = open(path, "rb")  # noqa: SIM115 - returned to the caller
    head = handle.read(2)
    handle.seek(0)
    if is_gzip(head):
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle


def file_is_document(stream: IO[bytes], fmt: str) -> bool:
    """Whether a stream holds one JSON document (array or ``Records``) rather than JSON lines.

    The stream is rewound (a gzip stream by reopening is the caller's job: we only peek).
    """
    head = stream.read(65536)
    stream.seek(0)
    stripped = head.lstrip()
    if stripped[:1] == b"[":
        return True
    if stripped[:1] == b"{" and fmt == "cloudtrail":
        first_line = stripped.split(b"\n", 1)[0]
        try:
            json.loads(first_line)
        except ValueError:
            return True
    return False


def iter_document_records(stream: IO[bytes], fmt: str) -> Iterator[tuple[int, Any]]:
    """Load a whole-document input and yield ``(position, record)``; bad JSON is one error."""
    raw = stream.read()
    try:
        document = orjson.loads(raw)
    except ValueError:
        try:
            document = json.loads(raw)
        except ValueError as exc:
            raise AccessBatchError([(1, _json_reason(exc))]) from None
    records = _document_records(document, fmt)
    if records is None:
        raise AccessBatchError([(1, "document is neither a JSON array nor a Records document")])
    yield from enumerate(records, start=1)

"""Intake formats (C1, C2): cloudcip JSON lines, OCSF 6003/3002, CloudTrail; gzip; every malformed
kind with its line number; all-or-nothing batches."""

from __future__ import annotations

import gzip
import ipaddress
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudcip.access.events import (
    AccessBatchError,
    AccessEvent,
    EventError,
    bytes_to_ip,
    network_range,
    parse_time_ms,
)
from cloudcip.access.formats import parse_events, parse_lines, parse_rows

GOOD = {
    "id": "e-1",
    "account_id": "acct-1",
    "principal": "user-1",
    "time": "2026-03-04T12:34:56.789Z",
    "ip": "203.0.113.7",
    "action": "console.login",
    "kind": "access",
    "user_agent": "test-agent",
    "source": "console",
}


def line(**changes: object) -> str:
    record: dict[str, object] = dict(GOOD)
    for key, value in changes.items():
        if value is ...:
            record.pop(key)
        else:
            record[key] = value
    return json.dumps(record)


def test_cloudcip_json_lines_round_trip() -> None:
    events = parse_events("\n".join([line(), line(id="e-2", ip="2001:db8::1", kind="admin")]) + "\n")
    assert [e.id for e in events] == ["e-1", "e-2"]
    first, second = events
    assert first.time == datetime(2026, 3, 4, 12, 34, 56, 789000, tzinfo=UTC)
    assert first.ip == ipaddress.IPv4Address("203.0.113.7")
    assert second.ip == ipaddress.IPv6Address("2001:db8::1")
    assert second.kind == "admin"
    assert AccessEvent.from_mapping(first.to_json_dict()) == first


def test_json_array_and_time_offsets() -> None:
    body = json.dumps([json.loads(line()), json.loads(line(id="e-9", time="2026-03-04T14:34:56.789+02:00"))])
    events = parse_events(body)
    assert events[0].time == events[1].time


def test_gzip_detected_by_magic_bytes() -> None:
    data = gzip.compress((line() + "\n" + line(id="e-2") + "\n").encode())
    assert len(parse_rows(data)) == 2


def test_ipv4_mapped_ipv6_is_the_ipv4_address() -> None:
    (event,) = parse_events(line(ip="::ffff:198.51.100.4"))
    assert event.ip == ipaddress.IPv4Address("198.51.100.4")


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("{not json", "invalid JSON"),
        ("42", "not a JSON object"),
        (json.dumps([1]), "not a JSON object"),
        (line(account_id=...), "account_id is missing"),
        (line(account_id=""), "account_id is empty"),
        (line(account_id=12), "account_id must be a string"),
        (line(principal=...), "principal is missing"),
        (line(time=...), "time is missing"),
        (line(time="yesterday"), "time is not an ISO 8601 timestamp"),
        (line(time="2026-03-04T12:34:56"), "time has no UTC offset"),
        (line(time=1700000000000), "time must be an ISO 8601 string"),
        (line(ip="300.1.2.3"), "ip is not a valid IP address"),
        (line(ip="01.2.3.4"), "ip is not a valid IP address"),
        (line(ip="fe80::1%eth0"), "ip must not carry a zone index"),
        (line(ip=...), "ip is missing"),
        (line(action=...), "action is missing"),
        (line(kind="login"), "kind must be 'access' or 'admin'"),
        (line(account_id="a" * 129), "account_id is longer than 128"),
        (b'{"account_id": "\xff"}', "not valid UTF-8"),
    ],
)
def test_every_malformed_kind_is_reported_with_its_line(bad: str | bytes, reason: str) -> None:
    raw = bad.encode() if isinstance(bad, str) else bad
    if raw.startswith(b"["):
        data = raw  # an array: positions count
        expected_line = 1
    else:
        data = (line() + "\n").encode() + raw + b"\n" + (line(id="e-3") + "\n").encode()
        expected_line = 2
    with pytest.raises(AccessBatchError) as caught:
        parse_rows(data)
    assert caught.value.errors[0][0] == expected_line
    assert reason in caught.value.errors[0][1]


def test_batch_lists_every_error_and_accepts_nothing() -> None:
    lines = [line(), line(ip="nope"), line(), line(kind="x"), "", line(time="bad")]
    with pytest.raises(AccessBatchError) as caught:
        parse_rows("\n".join(lines))
    assert [number for number, _ in caught.value.errors] == [2, 4, 6]


def test_errors_never_repeat_the_value() -> None:
    with pytest.raises(AccessBatchError) as caught:
        parse_rows(line(ip="10.99.99.999"))
    assert "10.99.99.999" not in str(caught.value)


def test_blank_lines_are_skipped() -> None:
    assert len(parse_rows("\n\n" + line() + "\n\n")) == 1


def test_user_agent_is_cut_not_refused() -> None:
    (event,) = parse_events(line(user_agent="x" * 5000))
    assert event.user_agent is not None and len(event.user_agent) == 1024


def ocsf_api(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "class_uid": 6003,
        "activity_id": 3,
        "time": 1772627696789,
        "actor": {"user": {"uid": "AIDA123", "name": "alice"}},
        "src_endpoint": {"ip": "2001:db8:1::5"},
        "api": {"operation": "UpdateInstance"},
        "cloud": {"provider": "acme", "account": {"uid": "acct-7"}},
        "metadata": {"uid": "ocsf-1", "product": {"name": "acme-control-plane"}},
        "http_request": {"user_agent": "cli/1.0"},
    }
    record.update(changes)
    return record


def test_ocsf_api_activity_and_authentication() -> None:
    auth = {
        "class_uid": 3002,
        "activity_id": 1,
        "time_dt": "2026-03-04T12:34:56.789Z",
        "actor": {"user": {"name": "bob", "account": {"uid": "acct-8"}}},
        "src_endpoint": {"ip": "192.0.2.10"},
        "metadata": {"uid": "ocsf-2"},
    }
    read = ocsf_api(activity_id=2, metadata={"uid": "ocsf-3"})
    events = parse_events("\n".join(json.dumps(r) for r in (ocsf_api(), auth, read)), "ocsf")
    api, login, reading = events
    assert (api.account_id, api.principal, api.action, api.kind) == ("acct-7", "AIDA123", "UpdateInstance", "admin")
    assert api.ip == ipaddress.IPv6Address("2001:db8:1::5")
    assert api.time == datetime(2026, 3, 4, 12, 34, 56, 789000, tzinfo=UTC)
    assert api.source == "acme-control-plane" and api.user_agent == "cli/1.0" and api.id == "ocsf-1"
    assert (login.account_id, login.principal, login.action, login.kind) == (
        "acct-8", "bob", "authentication.logon", "access")
    assert reading.kind == "access"


def test_ocsf_refuses_other_classes_and_missing_fields() -> None:
    records = [ocsf_api(class_uid=4001), ocsf_api(src_endpoint={}), ocsf_api(time="later"), ocsf_api(cloud={})]
    with pytest.raises(AccessBatchError) as caught:
        parse_rows("\n".join(json.dumps(r) for r in records), "ocsf")
    reasons = dict(caught.value.errors)
    assert "class_uid" in reasons[1]
    assert "src_endpoint.ip is missing" in reasons[2]
    assert "epoch milliseconds" in reasons[3]
    assert "cloud.account.uid is missing" in reasons[4]


def cloudtrail(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAX", "arn": "arn:aws:iam::111122223333:user/carol",
                         "accountId": "111122223333", "userName": "carol"},
        "eventTime": "2026-03-04T12:34:56Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "RunInstances",
        "sourceIPAddress": "198.51.100.20",
        "userAgent": "aws-cli/2",
        "eventID": "ct-1",
        "readOnly": False,
        "recipientAccountId": "111122223333",
    }
    record.update(changes)
    return record


def test_cloudtrail_records_document_and_lines() -> None:
    second = cloudtrail(eventID="ct-2", readOnly=True, eventName="DescribeInstances")
    document = json.dumps({"Records": [cloudtrail(), second]}, indent=2)
    events = parse_events(gzip.compress(document.encode()), "cloudtrail")
    assert [(e.account_id, e.action, e.kind) for e in events] == [
        ("111122223333", "RunInstances", "admin"), ("111122223333", "DescribeInstances", "access")]
    assert events[0].principal == "arn:aws:iam::111122223333:user/carol"
    assert events[0].time == datetime(2026, 3, 4, 12, 34, 56, tzinfo=UTC)
    lines = "\n".join(json.dumps(cloudtrail(eventID=f"ct-{n}")) for n in range(3))
    assert len(parse_rows(lines, "cloudtrail")) == 3
    no_recipient = cloudtrail()
    del no_recipient["recipientAccountId"]
    (event,) = parse_events(json.dumps(no_recipient), "cloudtrail")
    assert event.account_id == "111122223333"


def test_cloudtrail_service_hostname_is_an_error() -> None:
    document = json.dumps({"Records": [cloudtrail(), cloudtrail(sourceIPAddress="ec2.amazonaws.com")]})
    with pytest.raises(AccessBatchError) as caught:
        parse_rows(document, "cloudtrail")
    assert caught.value.errors == [(2, "ip is not a valid IP address")]


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown access event format"):
        parse_rows(line(), "syslog")


def test_network_range_is_inclusive_and_refuses_garbage() -> None:
    low, high = network_range("192.0.2.0/24")
    assert bytes_to_ip(low) == ipaddress.IPv4Address("192.0.2.0")
    assert bytes_to_ip(high) == ipaddress.IPv4Address("192.0.2.255")
    low6, high6 = network_range("2001:db8::/32")
    assert bytes_to_ip(high6) == ipaddress.IPv6Address("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
    assert low6 > high  # every IPv6 address sorts above the mapped IPv4 space
    with pytest.raises(EventError):
        network_range("not-a-network")


def test_access_event_validates_itself() -> None:
    with pytest.raises(EventError):
        AccessEvent(account_id="", principal="p", time=datetime.now(UTC), ip=ipaddress.ip_address("192.0.2.1"),
                    action="x")
    event = AccessEvent(account_id="a", principal="p", time=datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC),
                        ip=ipaddress.ip_address("192.0.2.1"), action="x")
    assert event.time.microsecond == 123000


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_fast_time_path_agrees_with_the_standard_library(moment: datetime) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    expected = int(moment.timestamp() * 1000 + 0.5)
    assert parse_time_ms(text) == expected
    assert parse_time_ms(text) == expected  # the second time through the minute cache
    assert parse_time_ms(text[:19] + "Z") == expected - moment.microsecond // 1000


def test_typed_decoding_gives_the_general_paths_rows_and_reasons() -> None:
    """Lines of cloudcip's schema go through msgspec first; every line, well formed or not, must come
    out exactly as the general orjson path gives it (rows, and reasons with line numbers)."""
    import orjson

    from cloudcip.access.events import EventError
    from cloudcip.access.formats import _json_reason, row_from_cloudcip

    good = {"id": "e-1", "account_id": "acct-1", "principal": "user", "time": "2026-03-04T12:34:56.789Z",
            "ip": "192.0.2.1", "action": "login", "kind": "access", "user_agent": "ua", "source": "cp"}
    variants = [good, {**good, "id": None}, {k: v for k, v in good.items() if k not in ("id", "source")},
                {**good, "time": "2026-03-04T12:34:56+02:00"}, {**good, "ip": "2001:db8::1"},
                {**good, "ip": "::ffff:192.0.2.1"}, {**good, "account_id": " leading"}, {**good, "principal": ""},
                {**good, "kind": "other"}, {**good, "user_agent": "u" * 5000}, {**good, "time": 5},
                {**good, "ip": "300.1.1.1"}, {**good, "id": "x" * 129}, {**good, "action": 7},
                {**good, "extra": {"nested": [1, 2]}}, {**good, "time": "2026-03-04T12:34:56"},
                {**good, "source": "\tsource"}, {**good, "time": "2026-03-04T25:34:56Z"}]
    lines = [json.dumps(variant).encode() for variant in variants]
    lines += [b"", b"   ", b"[1, 2]", b"not json", b'{"account_id": "\xff"}', b"null"]
    rows, errors = parse_lines(lines, "jsonl", first_line=10)
    expected_rows, expected_errors = [], []
    for number, line in enumerate(lines, start=10):
        if not line.strip():
            continue
        try:
            expected_rows.append(row_from_cloudcip(orjson.loads(line)))
        except orjson.JSONDecodeError:
            try:
                json.loads(line)
            except ValueError as exc:
                expected_errors.append((number, _json_reason(exc)))
        except EventError as exc:
            expected_errors.append((number, exc.reason))
    assert rows == expected_rows
    assert errors == expected_errors
    assert len(rows) == 10 and len(errors) == len(lines) - 2 - 10

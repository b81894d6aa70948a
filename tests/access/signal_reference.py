"""A reference for the set-based reads of the signal rules' inputs (C4): the same inputs read one
account at a time, with plain queries (what ``signals`` did before the reads became set-based).
The tests compare each back-end's ``signal_inputs`` with it, account by account."""

from __future__ import annotations

from typing import Any

from cloudcip.access.schema import MAX_BUCKETS_LISTED, bucket_of, buckets_between
from cloudcip.access.signals import LAST_MS, Inputs, SignalPolicy, access_of_row

_PREVIOUS_ACCESS = (
    "SELECT id, time_ms, country, kind, principal FROM access_event WHERE {periods}account_id = {p} "
    "AND time_ms < {p} AND country IS NOT NULL ORDER BY time_ms DESC, id DESC LIMIT 1")
_KNOWN_ADMINS = (
    "SELECT DISTINCT principal FROM access_event WHERE {periods}account_id = {p} AND time_ms < {p} "
    "AND kind = 'admin'")
_ACCESSES_SINCE = (
    "SELECT id, time_ms, country, kind, principal FROM access_event WHERE {periods}account_id = {p} "
    "AND time_ms >= {p} AND time_ms <= {p} ORDER BY time_ms, id")
_NEXT_ACCESS = (
    "SELECT id, time_ms, country, kind, principal FROM access_event WHERE {periods}account_id = {p} "
    "AND time_ms > {p} AND country IS NOT NULL ORDER BY time_ms, id LIMIT 1")


def _periods(low_ms: int, high_ms: int) -> str:
    """SQLite: the ``bucket IN (...)`` prefix that lets the event index seek (integers only)."""
    listed = buckets_between(low_ms, high_ms)
    if not listed or len(listed) > MAX_BUCKETS_LISTED:
        return ""
    return f"bucket IN ({','.join(str(period) for period in listed)}) AND "


def _inputs_for_account(cursor: Any, marker: str, account_id: str, since_ms: int,
                        policy: SignalPolicy, span: tuple[int, int] | None = None,
                        until_ms: int | None = None) -> Inputs | None:
    """What the rules need of one account, read through the driver's own cursor (no ORM row
    objects): its accesses from ``since_ms`` on (up to ``until_ms`` and the next located access
    after it, when given), the located access just before, and the principals that acted
    administratively before. On SQLite (``span``: the account's first and last access) each read
    names the 30-day periods it covers."""
    first_ms = last_ms = None
    if span is not None:
        first_ms, last_ms = span
    upper = LAST_MS if until_ms is None else until_ms
    since_periods = _periods(since_ms, min(upper, last_ms)) if last_ms is not None else ""
    cursor.execute(_ACCESSES_SINCE.format(p=marker, periods=since_periods), (account_id, since_ms, upper))
    accesses = [access_of_row(r) for r in cursor.fetchall()]
    if not accesses:
        return None
    bound = (account_id, since_ms)
    previous_row = None
    located = any(access.country for access in accesses)
    if located:  # only impossible travel looks back (and forward)
        if first_ms is None:
            cursor.execute(_PREVIOUS_ACCESS.format(p=marker, periods=""), bound)
            previous_row = cursor.fetchone()
        else:  # the latest period first: the previous access is nearly always in it
            for period in range(bucket_of(since_ms), bucket_of(first_ms) - 1, -1):
                cursor.execute(_PREVIOUS_ACCESS.format(p=marker, periods=f"bucket = {int(period)} AND "), bound)
                previous_row = cursor.fetchone()
                if previous_row is not None:
                    break
        if until_ms is not None and (last_ms is None or until_ms < last_ms):
            after = (account_id, until_ms)
            if last_ms is None:
                cursor.execute(_NEXT_ACCESS.format(p=marker, periods=""), after)
                following = cursor.fetchone()
            else:
                for period in range(bucket_of(until_ms), bucket_of(last_ms) + 1):
                    cursor.execute(_NEXT_ACCESS.format(p=marker, periods=f"bucket = {int(period)} AND "), after)
                    following = cursor.fetchone()
                    if following is not None:
                        break
            if following is not None:
                accesses.append(access_of_row(following))
    known: set[str] = set()
    if policy.new_admin_principal and any(access.kind == "admin" for access in accesses):
        before_periods = _periods(first_ms, since_ms) if first_ms is not None else ""
        cursor.execute(_KNOWN_ADMINS.format(p=marker, periods=before_periods), bound)
        known = {principal for (principal,) in cursor.fetchall()}
    return accesses, access_of_row(previous_row) if previous_row is not None else None, known

"""Matching a batch of peers' indicators against what is on record, set-based (G3).

``IndicatorIntake.take`` and ``rematch_stored`` hand over a batch (a page of a pull, a POSTed envelope,
500 stored indicators) instead of one indicator at a time; a handful of statements answer it whatever
its size:

- every address and network of the batch, each with its indicator's window, against the access
  ledger's rollup in one statement per 2,000 (``access.queries.accounts_from_many``), the pairs seen
  partly outside a window re-counted from the events in one more;
- every wallet against the customers' payment means by blind index (one ``IN`` per 500), every e-mail
  and wallet against the linkage graph's holders (``IdentifierHolders.holders_many``);
- the matches already recorded for the batch's indicators read at once, the new ones inserted with
  their account signals in two ``executemany``.

What is matched and how is ``ingest``'s (an account that used the address outside the window is not
flagged; a subject already matched by an indicator on an observable is not matched twice).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from cloudcip.access.events import EventError, datetime_to_ms, network_range
from cloudcip.access.queries import accounts_from_many
from cloudcip.access.schema import account_signal
from cloudcip.crypto.blind_index import blind_index
from cloudcip.sharing.holders import HeldKind, IdentifierHolders
from cloudcip.sharing.schema import shared_indicator_match
from cloudcip.storage.schema import payment_means

CHUNK = 500


@dataclass(frozen=True)
class Wanted:
    """One indicator to match: its id, TLP, window of validity and observables."""

    indicator_id: str
    level: str | None
    start: datetime
    end: datetime
    terms: Sequence[dict[str, str]]


@dataclass(frozen=True)
class Found:
    indicator_id: str
    level: str | None
    subject_type: str
    subject_id: str
    matched_on: str
    first: datetime | None = None
    last: datetime | None = None

    def key(self) -> tuple[str, str, str, str]:
        return (self.indicator_id, self.subject_type, self.subject_id, self.matched_on)


def find(conn: Connection, blind_index_key: bytes, holders: IdentifierHolders | None,
         batch: Sequence[Wanted]) -> list[Found]:
    """Every subject the batch's observables point at, in the order ``ingest`` used to meet them
    (indicator by indicator; for each, its addresses, then wallets, then holders)."""
    by_indicator: dict[int, list[Found]] = {}
    queries: list[tuple[int, bytes, bytes, int, int]] = []
    wallets: dict[str, list[int]] = {}
    held: dict[HeldKind, dict[str, list[int]]] = {"email": {}, "wallet": {}}
    for position, wanted in enumerate(batch):
        for term in wanted.terms:
            if term["kind"] == "ip":
                try:
                    low, high = network_range(term["value"])
                except EventError:
                    continue
                queries.append((position, low, high, datetime_to_ms(wanted.start), datetime_to_ms(wanted.end)))
            elif term["kind"] == "wallet":
                wallets.setdefault(blind_index(blind_index_key, "wallet", term["value"]), []).append(position)
            if term["kind"] in ("email", "wallet") and holders is not None:
                held["email" if term["kind"] == "email" else "wallet"].setdefault(term["value"], []).append(position)
    for position, seen in accounts_from_many(conn, queries):
        wanted = batch[position]
        by_indicator.setdefault(position, []).append(Found(
            wanted.indicator_id, wanted.level, "account", seen.account_id, "access_ip", seen.first_seen,
            seen.last_seen))
    tokens = sorted(wallets)
    for start in range(0, len(tokens), CHUNK):
        for token, customer_id in conn.execute(select(payment_means.c.number_index, payment_means.c.customer_id)
                                               .distinct().where(payment_means.c.number_index
                                                                 .in_(tokens[start:start + CHUNK]))).all():
            for position in wallets[token]:
                wanted = batch[position]
                by_indicator.setdefault(position, []).append(Found(
                    wanted.indicator_id, wanted.level, "customer", str(customer_id), "wallet"))
    if holders is not None:
        for kind, positions_of in held.items():
            if not positions_of:
                continue
            for value, subjects in holders.holders_many(conn, kind, sorted(positions_of)).items():
                for position in positions_of[value]:
                    wanted = batch[position]
                    by_indicator.setdefault(position, []).extend(
                        Found(wanted.indicator_id, wanted.level, subject_type, subject_id, kind)
                        for subject_type, subject_id in subjects
                        if not (kind == "wallet" and subject_type == "customer"))  # from the payment means
    return [found for position in sorted(by_indicator) for found in by_indicator[position]]


def record(conn: Connection, source: str, found: Sequence[Found], now: datetime) -> list[str]:
    """The matches not recorded before (per indicator, subject and observable), each open for a person
    to adjudicate, an account's with its ``account_signal``; their ids."""
    column = shared_indicator_match.c
    ids = sorted({item.indicator_id for item in found})
    known: set[tuple[str, str, str, str]] = set()
    for start in range(0, len(ids), CHUNK):
        known.update((row.indicator_id, row.subject_type, row.subject_id, row.matched_on) for row in conn.execute(
            select(column.indicator_id, column.subject_type, column.subject_id, column.matched_on)
            .where(column.source == source, column.indicator_id.in_(ids[start:start + CHUNK]))).all())
    matches: list[dict[str, Any]] = []
    signals: list[dict[str, Any]] = []
    for item in found:
        if item.key() in known:
            continue
        known.add(item.key())
        match_id = str(uuid.uuid4())
        matches.append({"id": match_id, "indicator_id": item.indicator_id, "source": source, "tlp": item.level,
                        "subject_type": item.subject_type, "subject_id": item.subject_id,
                        "matched_on": item.matched_on, "first_seen": item.first, "last_seen": item.last,
                        "state": "open", "created_at": now})
        if item.subject_type == "account":
            signals.append({"id": str(uuid.uuid4()), "account_id": item.subject_id, "kind": "shared_indicator",
                            "at": now, "state": "open",
                            "dedupe_key": hashlib.sha256(f"{source}|{item.indicator_id}".encode()).hexdigest(),
                            "detail_json": json.dumps({"match": match_id, "indicator": item.indicator_id,
                                                       "source": source, "tlp": item.level,
                                                       "matched_on": item.matched_on})})
    if matches:
        conn.execute(insert(shared_indicator_match), matches)
    if signals:
        conn.execute(insert(account_signal), signals)
    return [match["id"] for match in matches]

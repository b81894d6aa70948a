"""What a re-screening run screens against, and what changed since the last one (D4, D5).

A run's basis is the in-force snapshot of each list source, each measure's state and the matcher's
version and thresholds (``current_basis``); ``screening_state_key`` hashes what the periodic task
compares; ``list_changes`` finds the entries added, changed and removed between two bases (a delta
run screens against those only; hits on entries that left or changed are marked, never deleted).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from cloudcip.domain.designated import DesignatedParty
from cloudcip.screening.matcher import Thresholds
from cloudcip.screening.measures import Measure, list_measures
from cloudcip.screening.schema import list_party, rescreen_run
from cloudcip.screening.snapshots import diff_snapshots, find_snapshot, in_force_snapshots, party_from_document

MATCHER_VERSION = "1"  # bump when the matcher's scoring changes: the next run is then a full one


def screening_state_key(conn: Connection, today: date) -> str:
    """Hash of what a re-screening screens against: the in-force snapshots and each measure's status."""
    parts = [f"snapshot:{s.source}:{s.id}" for s in in_force_snapshots(conn)]
    parts += [f"measure:{m.id}:{m.status(today)}:{m.expires_on.isoformat()}" for m in list_measures(conn)]
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()


# --- what a run screens against ------------------------------------------------------------------


def matcher_key(thresholds: Thresholds) -> str:
    """The matcher's version and thresholds: a delta run needs the same as its baseline."""
    return f"matcher-v{MATCHER_VERSION}|block={thresholds.block}|review={thresholds.review}"


def measure_state(measure: Measure, today: date) -> str:
    return f"{measure.status(today)}|{measure.effective_date.isoformat()}|{measure.expires_on.isoformat()}"


def current_basis(conn: Connection, today: date, thresholds: Thresholds) -> dict[str, Any]:
    """The in-force snapshot of each source, each measure's state, the matcher: what a run starting now
    screens against."""
    return {"snapshots": {s.source: s.id for s in in_force_snapshots(conn)},
            "measures": {m.id: measure_state(m, today) for m in list_measures(conn)},
            "matcher": matcher_key(thresholds)}


def baseline_run(conn: Connection) -> Any:
    """The latest finished run that recorded its basis, or None."""
    return conn.execute(select(rescreen_run).where(rescreen_run.c.finished_at.is_not(None)
                                                   & rescreen_run.c.basis_json.is_not(None))
                        .order_by(rescreen_run.c.sequence.desc()).limit(1)).first()


@dataclass
class ListChanges:
    """What changed in the lists between two bases."""

    parties: list[DesignatedParty] = field(default_factory=list)  # added or changed (new version)
    hashes: dict[tuple[str, str], str] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)  # source -> source ids
    changed: dict[str, dict[str, str]] = field(default_factory=dict)  # source -> {source id: new hash}


def _party_rows(conn: Connection, snapshot_id: str, source_ids: Sequence[str]) -> Iterator[Any]:
    ids = list(source_ids)
    for start in range(0, len(ids), 500):
        yield from conn.execute(select(list_party.c.document_json, list_party.c.document_hash)
                                .where((list_party.c.snapshot_id == snapshot_id)
                                       & list_party.c.source_id.in_(ids[start:start + 500])))


def list_changes(conn: Connection, older: dict[str, str], newer: dict[str, str]) -> ListChanges:
    """Entries added, changed and removed between two maps of source -> snapshot id."""
    changes = ListChanges()
    for source, snapshot_id in sorted(newer.items()):
        previous = older.get(source)
        if previous == snapshot_id:
            continue
        new_info = find_snapshot(conn, snapshot_id)
        if previous is None:
            fresh = [row.source_id for row in conn.execute(select(list_party.c.source_id)
                                                            .where(list_party.c.snapshot_id == snapshot_id))]
            changed_ids: list[str] = []
        else:
            diff = diff_snapshots(conn, find_snapshot(conn, previous), new_info)
            fresh, changed_ids = diff.added, diff.changed
            if diff.removed:
                changes.removed[source] = diff.removed
        for row in _party_rows(conn, snapshot_id, [*fresh, *changed_ids]):
            party = party_from_document(json.loads(row.document_json))
            changes.parties.append(party)
            changes.hashes[(party.source, party.source_id)] = row.document_hash
        if changed_ids:
            changes.changed[source] = {p.source_id: changes.hashes[(p.source, p.source_id)]
                                       for p in changes.parties if p.source == source and p.source_id in changed_ids}
    for source, snapshot_id in older.items():
        if source not in newer:  # a source no longer screened: all its entries left
            changes.removed[source] = [row.source_id for row in conn.execute(
                select(list_party.c.source_id).where(list_party.c.snapshot_id == snapshot_id))]
    return changes


# --- the plan of a run (shared with worker processes by fork) ------------------------------------

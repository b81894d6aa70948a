"""Intake and storage (C1, C2): idempotent redelivery, rollups, resumable file import that survives
SIGKILL (nothing lost, nothing doubled), all-or-nothing batches; SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cloudcip.access.events import AccessBatchError, format_time_ms
from cloudcip.access.formats import parse_rows
from cloudcip.access.importer import ImportProgress, import_file
from cloudcip.access.schema import access_account_activity, access_event, access_import_progress, access_ip_seen
from cloudcip.access.store import ingest
from cloudcip.storage.database import Database

BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def event_line(n: int, *, with_id: bool = True, accounts: int = 17) -> str:
    record = {
        "account_id": f"acct-{n % accounts}",
        "principal": f"user-{n % 3}",
        "time": format_time_ms(BASE_MS + n * 61_000),
        "ip": f"198.51.{n % 5}.{n % 200}" if n % 4 else f"2001:db8:{n % 7:x}::{n % 90:x}",
        "action": "api.call",
        "kind": "admin" if n % 10 == 0 else "access",
    }
    if with_id:
        record["id"] = f"evt-{n}"
    return json.dumps(record)


def write_events(path: Path, count: int, *, with_id: bool = True) -> Path:
    with path.open("w") as handle:
        for n in range(count):
            handle.write(event_line(n, with_id=with_id) + "\n")
    return path


def totals(database: Database) -> tuple[int, int, int]:
    with database.engine.connect() as connection:
        events = connection.execute(select(func.count()).select_from(access_event)).scalar_one()
        seen = connection.execute(select(func.coalesce(func.sum(access_ip_seen.c.count), 0))).scalar_one()
        activity = connection.execute(select(func.coalesce(func.sum(access_account_activity.c.events), 0))).scalar_one()
    return int(events), int(seen), int(activity)


def test_ingest_is_idempotent_on_redelivery(db: Database) -> None:
    rows = parse_rows("\n".join(event_line(n) for n in range(500)))
    first = ingest(db, rows)
    assert (first.accepted, first.duplicates) == (500, 0)
    again = ingest(db, rows)
    assert (again.accepted, again.duplicates) == (0, 500)
    mixed = ingest(db, parse_rows("\n".join(event_line(n) for n in range(450, 550))))
    assert (mixed.accepted, mixed.duplicates) == (50, 50)
    assert totals(db) == (550, 550, 550)


def test_repeats_inside_one_batch_count_once(db: Database) -> None:
    rows = parse_rows("\n".join([event_line(1), event_line(1), event_line(2)]))
    result = ingest(db, rows)
    assert (result.accepted, result.duplicates) == (2, 1)
    assert totals(db) == (2, 2, 2)


def test_events_without_id_are_all_kept(db: Database) -> None:
    rows = parse_rows("\n".join(event_line(n, with_id=False) for n in range(10)))
    ingest(db, rows)
    ingest(db, rows)
    assert totals(db)[0] == 20


def test_rollups_hold_first_last_and_counts(db: Database) -> None:
    rows = parse_rows("\n".join(event_line(n) for n in range(300)))
    ingest(db, rows[150:])
    ingest(db, rows[:150])  # older events arrive late
    with db.engine.connect() as connection:
        activity = connection.execute(select(access_account_activity).where(
            access_account_activity.c.account_id == "acct-0")).one()
    times = [row[3] for row in rows if row[1] == "acct-0"]
    assert (activity.first_access_ms, activity.last_access_ms, activity.events) == (min(times), max(times), len(times))


def test_country_is_enriched_at_intake(db: Database) -> None:
    ingest(db, parse_rows(json.dumps({"account_id": "a", "principal": "p", "time": "2026-01-01T00:00:00Z",
                                      "ip": "8.8.8.8", "action": "x", "kind": "access"})))
    with db.engine.connect() as connection:
        assert connection.execute(select(access_event.c.country)).scalar_one() == "US"
        assert connection.execute(select(access_ip_seen.c.country)).scalar_one() == "US"


def test_import_file_plain_gzip_and_completed(db: Database, tmp_path: Path) -> None:
    plain = write_events(tmp_path / "events.jsonl", 1000)
    seen: list[ImportProgress] = []
    result = import_file(db, plain, "jsonl", batch_size=300, progress=seen.append)
    assert (result.lines, result.accepted, result.duplicates) == (1000, 1000, 0)
    assert [p.lines for p in seen] == [300, 600, 900, 1000]
    again = import_file(db, plain, "jsonl", batch_size=300)
    assert again.already_complete and totals(db)[0] == 1000
    packed = tmp_path / "events.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    redelivered = import_file(db, packed, "jsonl", batch_size=256)
    assert (redelivered.accepted, redelivered.duplicates) == (0, 1000)


def test_import_document_formats(db: Database, tmp_path: Path) -> None:
    array = tmp_path / "array.json"
    array.write_text(json.dumps([json.loads(event_line(n)) for n in range(25)], indent=1))
    assert import_file(db, array, "jsonl", batch_size=10).accepted == 25
    trail = tmp_path / "trail.json.gz"
    records = [{"eventTime": "2026-02-01T00:00:00Z", "sourceIPAddress": "192.0.2.1", "eventName": "ConsoleLogin",
                "eventID": f"ct-{n}", "userIdentity": {"arn": "arn:x", "accountId": "acct-ct"}} for n in range(7)]
    trail.write_bytes(gzip.compress(json.dumps({"Records": records}, indent=2).encode()))
    assert import_file(db, trail, "cloudtrail", batch_size=3).accepted == 7


def test_bad_batch_in_a_file_stops_and_lists_every_error(db: Database, tmp_path: Path) -> None:
    lines = [event_line(n) for n in range(100)]
    lines[55] = "{broken"
    lines[81] = event_line(81).replace('"kind": "access"', '"kind": "nope"')
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(AccessBatchError) as caught:
        import_file(db, path, "jsonl", batch_size=50)
    assert [n for n, _ in caught.value.errors] == [56, 82]
    assert totals(db)[0] == 50  # the first batch committed; the bad one and everything after refused whole


CHILD = """
import sys
from cloudcip.storage.database import open_database
from cloudcip.access.importer import import_file
database = open_database(sys.argv[1], schema=sys.argv[2] or None)
def report(progress):
    print(progress.lines, flush=True)
import_file(database, sys.argv[3], "jsonl", batch_size=int(sys.argv[4]), progress=report,
            parse_workers=int(sys.argv[5]))
print("done", flush=True)
"""


def _schema_of(database: Database) -> str:
    if not database.is_postgresql:
        return ""
    with database.engine.connect() as connection:
        return str(connection.exec_driver_sql("SELECT current_schema()").scalar_one())


@pytest.mark.parametrize("workers", [0, 2], ids=["in-process", "parse-workers"])
def test_killed_import_resumes_without_loss_or_doubling(db: Database, tmp_path: Path, workers: int) -> None:
    """SIGKILL mid-import, then resume: nothing lost, nothing doubled; with parse workers the
    importer hands out byte spans (SQLite) or line batches (PostgreSQL)."""
    total = 60_000
    path = write_events(tmp_path / "big.jsonl", total, with_id=False)  # no ids: only the offset can save us
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db.url, _schema_of(db), str(path), "1000", str(workers)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None
    reported = [child.stdout.readline().strip() for _ in range(3)]
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert reported == ["1000", "2000", "3000"]
    with db.engine.connect() as connection:
        committed = connection.execute(select(access_import_progress.c.lines_committed)).scalar_one()
    assert 3000 <= committed < total
    assert totals(db) == (committed, committed, committed)
    result = import_file(db, path, "jsonl", batch_size=1000, parse_workers=workers)
    assert result.resumed_from_line == committed
    assert result.lines == total
    assert totals(db) == (total, total, total)


def test_resume_of_gzip_file(db: Database, tmp_path: Path) -> None:
    plain = write_events(tmp_path / "e.jsonl", 900, with_id=False)
    packed = tmp_path / "e.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))

    class Stop(Exception):
        pass

    def stop_after_two(progress: ImportProgress) -> None:
        if progress.lines == 400:
            raise Stop

    with pytest.raises(Stop):
        import_file(db, packed, "jsonl", batch_size=200, progress=stop_after_two)
    assert totals(db)[0] == 400
    result = import_file(db, packed, "jsonl", batch_size=200)
    assert (result.resumed_from_line, result.accepted) == (400, 900)
    assert totals(db) == (900, 900, 900)


def test_worker_path_matches_in_process_path(db: Database, tmp_path: Path) -> None:
    """The parse worker hands batches over as a staging file (SQLite) or COPY text (PostgreSQL)."""
    lines = [event_line(n) for n in range(3000)]
    odd = json.loads(event_line(3000))
    odd["user_agent"] = "tab\there, newline\nthere, back\\slash, quote\" and ünïcode"
    odd["principal"] = "user\\with\\backslashes"
    lines.append(json.dumps(odd))
    first = tmp_path / "first.jsonl"
    first.write_text("\n".join(lines[:2000]) + "\n")
    result = import_file(db, first, "jsonl", batch_size=700, parse_workers=1)
    assert (result.accepted, result.duplicates) == (2000, 0)
    overlapping = tmp_path / "overlap.jsonl"  # half already stored: the rollups count only new rows
    overlapping.write_text("\n".join(lines[1000:]) + "\n")
    again = import_file(db, overlapping, "jsonl", batch_size=700, parse_workers=1)
    assert (again.accepted, again.duplicates) == (1001, 1000)
    assert totals(db) == (3001, 3001, 3001)
    with db.engine.connect() as connection:
        stored = connection.execute(select(access_event.c.user_agent, access_event.c.principal).where(
            access_event.c.event_id == "evt-3000")).one()
    assert tuple(stored) == (odd["user_agent"], odd["principal"])
    with db.engine.connect() as connection:
        countries = connection.execute(select(func.count()).select_from(access_event).where(
            access_event.c.country.is_not(None))).scalar_one()
    assert countries > 0  # enriched in the worker


def test_interrupted_worker_import_leaves_no_staging_files(db: Database, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """An import stopped by an exception removes its parse workers' staging directory (C2)."""
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    path = write_events(tmp_path / "e.jsonl", 3000)

    class Stop(Exception):
        pass

    def stop_early(progress: ImportProgress) -> None:
        if progress.lines == 500:
            raise Stop

    with pytest.raises(Stop):
        import_file(db, path, "jsonl", batch_size=500, progress=stop_early, parse_workers=2)
    assert list((tmp_path / "tmp").iterdir()) == []
    resumed = import_file(db, path, "jsonl", batch_size=500, parse_workers=2)
    assert (resumed.resumed_from_line, resumed.accepted) == (500, 3000)
    assert totals(db) == (3000, 3000, 3000)


def test_plain_copy_text_matches_the_escaping_one() -> None:
    """Worker batches without a backslash in their JSON are formatted for COPY in one f-string per
    row; the result must be byte for byte what the escaping formatter gives."""
    from cloudcip.access.batch import copy_text, copy_text_plain

    rows = [(*row, country) for row, country in zip(
        parse_rows("\n".join(event_line(n, with_id=n % 3 != 0) for n in range(300))), ["US", None, "DE"] * 100,
        strict=True)]
    rows[7] = (*rows[7][:7], "agent/1.0 ünïcode", "control-plane", rows[7][9])
    assert copy_text_plain(rows) == copy_text(rows)

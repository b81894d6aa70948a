"""Importing a file of access events, resumably (C1, C2): ``import_file``.

``import_file`` streams a file (plain or gzip; JSON lines, or a JSON array / ``Records`` document)
in batches. Each batch commits together with the file's progress (sha256, committed line and byte
offset) in ``access_import_progress``, so a killed import resumes after its last commit: nothing
lost, nothing doubled, even for events without ids. A batch with a bad line is refused whole; the
import stops there (earlier batches stay committed and recorded), the rest of the file is still read
to list every error, and ``AccessBatchError`` carries them all.

For large JSON-lines files a worker process parses, validates, enriches and aggregates each batch
and hands it over in the cheapest form for the engine's writer (``AccessBackend.handover``: a
staging SQLite file that the writer ATTACHes and copies with ``INSERT ... SELECT``, or COPY text for
PostgreSQL). The writer thus does no per-row Python work; batches still commit strictly in file
order. Where the back-end ``stages_spans`` (SQLite) and the file is plain (not gzip), the importer
only finds where each batch of lines starts and ends; the worker reads those bytes itself, stages
them in chunks and aggregates the rollups with SQL, so neither process holds a whole batch in
memory. A batch (one transaction) is the back-end's ``import_batch_lines`` lines by default: on
SQLite, the fewer commits, the fewer index pages written per event.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any

from sqlalchemy import insert, select, update

from cloudcip import clock
from cloudcip.access.backends import AccessBackend, backend_for
from cloudcip.access.batch import DEFAULT_ENRICHMENT, PreparedBatch, prepare_rows, resolve_intel
from cloudcip.access.events import AccessBatchError
from cloudcip.access.formats import (
    MAX_ERRORS,
    file_is_document,
    iter_document_records,
    open_event_stream,
    parse_lines,
    parse_records,
    row_parser,
)
from cloudcip.access.ipintel import IpIntel, default_intel
from cloudcip.access.schema import access_import_progress
from cloudcip.access.store import write_batch
from cloudcip.storage.database import Database

PARALLEL_PARSE_MIN_BYTES = 8 << 20


@dataclass(frozen=True)
class ImportProgress:
    """Where an import stands: lines (or records) committed, events stored, bytes read."""

    lines: int
    accepted: int
    duplicates: int
    bytes_read: int
    total_bytes: int


@dataclass(frozen=True)
class ImportResult:
    """The outcome of ``import_file``; ``resumed_from_line`` > 0 when an earlier run was resumed."""

    file_sha256: str
    lines: int
    accepted: int
    duplicates: int
    resumed_from_line: int
    already_complete: bool


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _progress_row(database: Database, sha: str) -> dict[str, Any] | None:
    with database.engine.connect() as connection:
        row = connection.execute(
            select(access_import_progress).where(access_import_progress.c.file_sha256 == sha)
        ).first()
        return dict(row._mapping) if row is not None else None


PARALLEL_PARSE_MIN_BYTES = 8 << 20


def _line_batches(stream: IO[bytes], batch_size: int) -> Iterator[tuple[list[bytes], int]]:
    while True:
        lines = list(islice(stream, batch_size))
        if not lines:
            return
        yield lines, sum(map(len, lines))


def _prepare_blob(blob: bytes, fmt: str, first_line: int, enrich: bool, backend: AccessBackend,
                  stage_path: str) -> tuple[list[tuple[int, str]], PreparedBatch | None]:
    """Worker side: parse newline-joined lines, prepare the batch (default enrichment) and hand it
    over in the cheapest form for the engine's writer (``AccessBackend.handover``)."""
    lines = blob.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    rows, errors = parse_lines(lines, fmt, first_line=first_line)
    if errors:
        return errors, None
    batch = prepare_rows(rows, default_intel() if enrich else None)
    return [], backend.handover(batch, b"\\" not in blob, stage_path)


def line_spans(handle: IO[bytes], offset: int, batch_lines: int) -> Iterator[tuple[int, int, int]]:
    """``(start, end, lines)`` of consecutive batches of ``batch_lines`` lines from byte ``offset``
    (the last batch may be shorter; a last line without a newline counts). Reads blocks and counts
    newlines natively: no per-line work in the importer."""
    handle.seek(offset)
    start = position = offset
    count = 0
    last = b"\n"
    while True:
        block = handle.read(1 << 22)
        if not block:
            break
        last = block[-1:]
        scan = 0
        while True:
            found = block.count(b"\n", scan)
            if count + found < batch_lines:
                count += found
                break
            index = scan - 1
            for _ in range(batch_lines - count):
                index = block.index(b"\n", index + 1)
            end = position + index + 1
            yield start, end, batch_lines
            start, count, scan = end, 0, index + 1
        position += len(block)
    if position > start:
        yield start, position, count + (0 if last == b"\n" else 1)


def _staged_spans(
    path: str, offset: int, fmt: str, batch_lines: int, first_line: int, enrich: bool, workers: int,
    backend: AccessBackend, stage_dir: str,
) -> Generator[tuple[int, int, list[tuple[int, str]], PreparedBatch | None], None, None]:
    """Yield ``(lines, bytes, errors, prepared batch)`` in file order, staged by worker processes."""
    with open(path, "rb") as handle:
        tasks = ((lines, end - start, backend.stage_span, (path, start, lines, fmt, line, enrich,
                                                           os.path.join(stage_dir, f"batch-{line}.sqlite")))
                 for start, end, lines, line in _numbered(line_spans(handle, offset, batch_lines), first_line))
        yield from _in_order(tasks, workers, ahead=workers)


def _numbered(spans: Iterator[tuple[int, int, int]], first_line: int) -> Iterator[tuple[int, int, int, int]]:
    for start, end, lines in spans:
        yield start, end, lines, first_line
        first_line += lines


_Task = tuple[int, int, Callable[..., tuple[list[tuple[int, str]], "PreparedBatch | None"]], tuple[Any, ...]]


def _in_order(tasks: Iterator[_Task], workers: int, ahead: int
              ) -> Generator[tuple[int, int, list[tuple[int, str]], PreparedBatch | None], None, None]:
    """Run ``(lines, bytes, function, arguments)`` tasks in ``workers`` child processes, at most
    ``ahead`` + 1 at a time, and yield ``(lines, bytes, errors, batch)`` in the tasks' order."""
    import multiprocessing
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor

    pending: deque[tuple[int, int, Future[tuple[list[tuple[int, str]], PreparedBatch | None]]]] = deque()
    # fork where there is one: the worker only parses, and nothing of __main__ is imported again
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                             initializer=_die_with_parent) as pool:
        for lines, size, function, arguments in tasks:
            pending.append((lines, size, pool.submit(function, *arguments)))
            if len(pending) > ahead:
                count, done_size, future = pending.popleft()
                yield count, done_size, *future.result()
        while pending:
            count, done_size, future = pending.popleft()
            yield count, done_size, *future.result()


def _die_with_parent() -> None:
    """Parse-worker initializer: on Linux the worker is killed with the importer (PR_SET_PDEATHSIG),
    so an import killed mid-way leaves no worker waiting on its queue; the cyclic garbage collector
    runs less often (the rows are acyclic and freed by reference counting)."""
    import gc

    gc.set_threshold(100_000, 50, 100)  # parsing allocates millions of acyclic tuples: collect far less often
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the importer died before the line above took effect
        os._exit(1)


def _prepared_batches(
    stream: IO[bytes], fmt: str, batch_size: int, first_line: int, intel: IpIntel | None, workers: int,
    backend: AccessBackend, stage_dir: str = "",
) -> Generator[tuple[int, int, list[tuple[int, str]], PreparedBatch | None], None, None]:
    """Yield ``(lines, bytes, errors, prepared batch)`` in file order."""
    if workers <= 0:
        for lines, size in _line_batches(stream, batch_size):
            rows, errors = parse_lines(lines, fmt, first_line=first_line)
            yield len(lines), size, errors, (None if errors else prepare_rows(rows, intel))
            first_line += len(lines)
        return
    tasks = ((len(lines), size, _prepare_blob, (b"".join(lines), fmt, line, intel is not None, backend,
                                                 os.path.join(stage_dir, f"batch-{line}.sqlite")))
             for lines, size, line in _numbered_batches(_line_batches(stream, batch_size), first_line))
    yield from _in_order(tasks, workers, ahead=workers + 1)


def _numbered_batches(batches: Iterator[tuple[list[bytes], int]], first_line: int
                      ) -> Iterator[tuple[list[bytes], int, int]]:
    for lines, size in batches:
        yield lines, size, first_line
        first_line += len(lines)


def import_file(
    database: Database,
    path: str | Path,
    fmt: str = "jsonl",
    *,
    batch_size: int | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
    enrich: Any = DEFAULT_ENRICHMENT,
    signal_policy: Any = None,
    parse_workers: int | None = None,
) -> ImportResult:
    """Import a file of events in batches, resuming after the last committed batch of an earlier run.

    JSON lines are parsed and enriched in ``parse_workers`` child processes (default: two, or one
    on a single core, for files over 8 MiB; none otherwise, and none with a ``signal_policy`` or an operator's
    ``IpIntel``) while this process writes; batches still commit in file order.

    ``batch_size``: lines (or records) per transaction; by default the back-end's
    ``import_batch_lines`` (250,000 on SQLite, 50,000 on PostgreSQL). A batch is accepted or refused whole.

    Raises ``AccessBatchError`` (every bad line of the file from the first bad batch on, with line
    numbers) when a batch is refused; batches before it stay committed.
    """
    row_parser(fmt)
    backend = backend_for(database)
    if batch_size is None:
        batch_size = backend.import_batch_lines
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    source = Path(path)
    total_bytes = source.stat().st_size
    sha = file_sha256(source)
    intel = resolve_intel(enrich)
    now = clock.now()
    state = _progress_row(database, sha)
    if state is None:
        with database.engine.begin() as connection:
            connection.execute(insert(access_import_progress).values(
                file_sha256=sha, format=fmt, file_name=source.name[:255], lines_committed=0, byte_offset=0,
                events_accepted=0, duplicates=0, started_at=now, updated_at=now))
        state = _progress_row(database, sha)
        assert state is not None
    if state["completed_at"] is not None:
        return ImportResult(sha, int(state["lines_committed"]), int(state["events_accepted"]),
                            int(state["duplicates"]), int(state["lines_committed"]), True)
    lines_done = int(state["lines_committed"])
    resumed_from = lines_done
    offset = int(state["byte_offset"])
    accepted_total = int(state["events_accepted"])
    duplicates_total = int(state["duplicates"])

    def commit(batch: PreparedBatch, lines_after: int, offset_after: int) -> tuple[int, int]:
        with database.engine.connect() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None
            with backend.import_session(raw, batch), connection.begin():
                accepted = write_batch(connection, database, batch, intel)
                connection.execute(update(access_import_progress).where(
                    access_import_progress.c.file_sha256 == sha).values(
                    lines_committed=lines_after, byte_offset=offset_after,
                    events_accepted=access_import_progress.c.events_accepted + accepted,
                    duplicates=access_import_progress.c.duplicates + (batch.submitted - accepted),
                    updated_at=clock.now()))
        if signal_policy is not None and accepted:
            from cloudcip.access.signals import raise_signals_for_rows

            raise_signals_for_rows(database, batch.params, signal_policy)
        return accepted, batch.submitted - accepted

    errors: list[tuple[int, str]] = []
    extra_errors = 0
    with open_event_stream(str(source)) as stream:
        if file_is_document(stream, fmt):
            records = list(iter_document_records(stream, fmt))
            for start in range(lines_done, len(records), batch_size):
                chunk = [record for _position, record in records[start:start + batch_size]]
                rows, batch_errors = parse_records(chunk, fmt)
                if batch_errors or errors:
                    errors.extend((start + position, reason) for position, reason in batch_errors)
                    continue
                accepted, duplicates = commit(prepare_rows(rows, intel), start + len(chunk), 0)
                accepted_total += accepted
                duplicates_total += duplicates
                lines_done = start + len(chunk)
                if progress is not None:
                    progress(ImportProgress(lines_done, accepted_total, duplicates_total,
                                            total_bytes * lines_done // max(1, len(records)), total_bytes))
        else:
            if offset:
                stream.seek(offset)
            workers = parse_workers
            if workers is None:  # the writer is light (INSERT ... SELECT from the staging file): two
                # parse workers on a machine of two cores or more, one on a single core
                workers = min(2, os.cpu_count() or 1) if total_bytes - offset > PARALLEL_PARSE_MIN_BYTES else 0
            if (intel is not None and intel is not default_intel()) or signal_policy is not None:
                workers = 0  # an operator's IpIntel (open MaxMind readers) stays in this process
            stage_dir = tempfile.mkdtemp(prefix="cloudcip-import-") if workers > 0 else ""
            batches: Generator[tuple[int, int, list[tuple[int, str]], PreparedBatch | None], None, None]
            spans = workers > 0 and backend.stages_spans() and getattr(stream, "fileobj", None) is None
            if spans:
                batches = _staged_spans(str(source), offset, fmt, batch_size, lines_done + 1, intel is not None,
                                        workers, backend, stage_dir)
            else:
                batches = _prepared_batches(stream, fmt, batch_size, lines_done + 1, intel, workers, backend,
                                            stage_dir)
            try:
                for count, size, batch_errors, batch in batches:
                    if batch_errors or errors:
                        room = MAX_ERRORS - len(errors)
                        errors.extend(batch_errors[:max(0, room)])
                        extra_errors += max(0, len(batch_errors) - max(0, room))
                        lines_done += count
                        continue
                    assert batch is not None
                    accepted, duplicates = commit(batch, lines_done + count, offset + size)
                    accepted_total += accepted
                    duplicates_total += duplicates
                    lines_done += count
                    offset += size
                    if progress is not None:
                        read = offset if spans or _fileno(stream) < 0 else os.lseek(_fileno(stream), 0, os.SEEK_CUR)
                        progress(ImportProgress(lines_done, accepted_total, duplicates_total, read, total_bytes))
            finally:  # a failed or interrupted import leaves no staging files behind
                batches.close()
                if stage_dir:
                    shutil.rmtree(stage_dir, ignore_errors=True)
    if errors or extra_errors:
        raise AccessBatchError(errors, truncated=extra_errors)
    with database.engine.begin() as connection:
        connection.execute(update(access_import_progress).where(
            access_import_progress.c.file_sha256 == sha).values(completed_at=clock.now(),
                                                                 updated_at=clock.now()))
    return ImportResult(sha, lines_done, accepted_total, duplicates_total, resumed_from, False)


def _fileno(stream: IO[bytes]) -> int:
    inner = getattr(stream, "fileobj", None)
    try:
        return int((inner if inner is not None else stream).fileno())
    except (OSError, ValueError, AttributeError):
        return -1

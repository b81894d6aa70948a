"""What the access capability asks of a database engine (C1-C4, B1): one Protocol, one implementation
per engine (``sqlite.py``, ``postgresql.py``), chosen once from the ``Database`` by
``access.backends.backend_for``, as Trillian's ``storage/`` keeps one package per SQL back-end behind
one interface. Everything above it (``store``, ``importer``, ``signals``, ``follower``, ``queries``,
``retention``, ``schema``) asks the back-end and never branches on the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, Connection

from cloudcip.access.batch import PreparedBatch
from cloudcip.access.ipintel import IpIntel
from cloudcip.storage.database import Database

if TYPE_CHECKING:
    from cloudcip.access.signals import Inputs, SignalPolicy

#: a signal to store: (row id, account, kind, time, detail JSON, dedupe key)
SignalRow = tuple[str, str, str, datetime, str, str]
#: a stored signal's key: (account, kind, dedupe key)
SignalKey = tuple[str, str, str]
#: account -> (since, until) in epoch ms; until ``None``: up to the account's last access
Windows = Mapping[str, tuple[int, int | None]]


class AccessBackend(Protocol):
    """The engine-specific half of the access capability."""

    #: the engine's name, as SQLAlchemy's dialect says it (``sqlite``, ``postgresql``)
    name: str
    #: lines (or records) per transaction of a file import
    import_batch_lines: int

    def create_schema(self, connection: Connection) -> None:
        """Create the access tables (tests and first runs; production uses the migrations)."""

    def write_batch(self, raw: Any, batch: PreparedBatch, intel: IpIntel | None) -> int:
        """Write a prepared batch through the driver connection ``raw``, inside the caller's
        transaction, idempotent on the events' ids; the rollups count only the rows added. Returns
        the number of events stored."""

    def ingest(self, database: Database, batch: PreparedBatch, intel: IpIntel | None) -> int:
        """Write a prepared batch in a transaction of its own (under the database's write gate)."""

    def import_session(self, raw: Any, batch: PreparedBatch) -> AbstractContextManager[None]:
        """Around the transaction that commits one batch of a file import (before it and after it:
        what the engine allows outside a transaction only, such as attaching a staging file)."""

    def handover(self, batch: PreparedBatch, plain_text: bool, stage_path: str) -> PreparedBatch:
        """Worker side of a file import: the batch in the cheapest form for this engine's writer
        (``plain_text``: no row holds a backslash, so the fast COPY encoder may be used)."""

    def stages_spans(self) -> bool:
        """Whether a file import's workers read, parse and stage spans of a plain file themselves."""

    def stage_span(self, path: str, start: int, lines: int, fmt: str, first_line: int, enrich: bool,
                   stage_path: str) -> tuple[list[tuple[int, str]], PreparedBatch | None]:
        """Worker side, where ``stages_spans``: read ``lines`` lines of ``path`` from byte ``start``,
        parse and stage them in ``stage_path``; every error of the span, or the staged batch."""

    def newest_event_id(self, connection: Connection) -> int:
        """The highest event id below which every event is committed, inside the caller's
        transaction (the engine makes sure no older id is still in flight)."""

    def store_signals(self, cursor: Any, rows: Sequence[SignalRow]) -> set[SignalKey]:
        """Insert the signals not stored before, through the driver ``cursor`` in the caller's
        transaction, in one statement; the keys added."""

    def signal_inputs(self, cursor: Any, windows: Windows, policy: SignalPolicy) -> dict[str, Inputs]:
        """The rules' inputs of many accounts at once (see ``signals.Inputs``) for each account's
        window, read set-based through the driver ``cursor``."""

    def period_condition(self, low_ms: int, high_ms: int) -> ColumnElement[bool] | None:
        """A condition naming the 30-day periods of ``[low_ms, high_ms]`` that lead the event index,
        or ``None`` when the engine needs none (or the window spans too many to list)."""

    def activity_span(self, connection: Connection, account_ids: Sequence[str]) -> tuple[int, int] | None:
        """The first and last access of the accounts when the engine reads events period by period,
        to bound the periods; ``None`` when it does not need them (or none is stored)."""

    def window_counts(self, connection: Connection,
                      pairs: Sequence[tuple[int, str, bytes, int, int]]) -> dict[int, tuple[int, int, int]]:
        """For many ``(key, account, ip, low_ms, high_ms)``, set-based: the first and last time and the
        count of the account's events from that address within the window (both ends inclusive), for
        the keys with at least one (G3: a peer's indicator matched over its window of validity)."""

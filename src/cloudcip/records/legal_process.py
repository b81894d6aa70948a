"""The register of legal processes, what each one covers, and the check of every legal read (B4, B5).

A legal process (subpoena, court order, Commerce request, law-enforcement request, or a deletion
the law allows) is registered with its authority, reference, received and due dates, the person
handling it, and its scope: customers, accounts, identifiers (kept only as keyed blind indexes),
IP addresses or CIDR networks, and a time window. The scope is resolved against the records when it
is needed (``resolve_scope``): the customers named or holding a named identifier or a named
account, every account of those customers, and the accounts seen from a named network within the
window. A process whose scope matches nothing is accepted with a warning.

``check_legal_read`` is the one check of a read made under a legal basis: the ``X-Legal-Basis``
must name a registered, open process whose scope covers what is read, else ``Forbidden`` (403).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Connection, insert, select, update

from cloudcip import clock
from cloudcip.access.events import EventError, network_range
from cloudcip.access.schema import access_account_activity, access_ip_seen
from cloudcip.crypto.blind_index import IndexedKind, blind_index
from cloudcip.crypto.keyring import Keyring
from cloudcip.errors import Conflict, FieldIssue, Forbidden, InvalidInput, NotFound
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.customer_store import find_by_index
from cloudcip.records.roles import Actor, Permission, may
from cloudcip.records.schema import legal_process, legal_process_scope
from cloudcip.storage.database import Database
from cloudcip.storage.schema import account, customer

ProcessKind = Literal["subpoena", "court_order", "commerce_request", "law_enforcement", "statutory_deletion"]
PROCESS_KINDS: tuple[str, ...] = ("subpoena", "court_order", "commerce_request", "law_enforcement",
                                  "statutory_deletion")
#: the kinds that may order records destroyed before their retention ends (B1)
DELETION_KINDS: frozenset[str] = frozenset({"court_order", "statutory_deletion"})
MAX_SCOPE_ITEMS = 10_000
_CHUNK = 500

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SubjectId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128,
                                             pattern=r"^[A-Za-z0-9._:\-]+$")]


class ScopedIdentifier(BaseModel):
    """An identifier the process names; only its blind index is stored."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["email", "phone", "national_id", "card_number", "iban", "wallet"]
    value: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = Field(
        default=None, description="issuing country, for national_id")


class LegalProcessInput(BaseModel):
    """A legal process as legal staff register it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    kind: ProcessKind
    authority: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    reference: Text200
    handler: Text200 | None = None
    received: date | None = Field(default=None, description="when the process was received (default: today)")
    due: date | None = Field(default=None, description="when the answer is due; not in the past")
    customers: Annotated[list[SubjectId], Field(max_length=MAX_SCOPE_ITEMS)] = []
    accounts: Annotated[list[SubjectId], Field(max_length=MAX_SCOPE_ITEMS)] = []
    identifiers: Annotated[list[ScopedIdentifier], Field(max_length=MAX_SCOPE_ITEMS)] = []
    networks: Annotated[list[Annotated[str, StringConstraints(min_length=2, max_length=64)]],
                        Field(max_length=MAX_SCOPE_ITEMS)] = []
    window_from: datetime | None = Field(default=None, alias="from")
    window_to: datetime | None = Field(default=None, alias="to")
    unmask: bool = Field(default=True, description="whether the process allows records disclosed unmasked")


@dataclass(frozen=True)
class NetworkScope:
    low: bytes
    high: bytes


@dataclass
class ResolvedScope:
    """What a process covers, resolved against the records now."""

    customers: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)  # every account in scope, for any reason
    accounts_in_full: set[str] = field(default_factory=set)  # named, or of a customer in scope
    networks: list[NetworkScope] = field(default_factory=list)
    window_from: datetime | None = None
    window_to: datetime | None = None

    @property
    def empty(self) -> bool:
        return not self.customers and not self.accounts


@dataclass(frozen=True)
class ProcessRecord:
    id: str
    kind: str
    authority: str
    reference: str
    handler: str | None
    received: date
    due: date | None
    window_from: datetime | None
    window_to: datetime | None
    unmask: bool
    state: str
    registered_at: datetime
    registered_tree_size: int
    scope: dict[str, int]  # counts of what was named and of what it resolves to; never the values
    warnings: list[str] = field(default_factory=list)


class ProcessNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such legal process")


def _require(actor: Actor, permission: Permission) -> None:
    if not may(actor.role, permission):
        raise Forbidden(f"role {actor.role} may not do this ({permission})")


@dataclass
class LegalProcessService:
    """Registers legal processes, resolves their scope, checks legal reads (B4, B5)."""

    database: Database
    ledger: Ledger
    keyring: Keyring
    clock: Callable[[], datetime] = clock.now

    # -- register ------------------------------------------------------------------------------
    def register(self, request: LegalProcessInput, actor: Actor) -> ProcessRecord:
        _require(actor, "legal_process:write")
        now = self.clock()
        received = request.received or now.date()
        problems: list[FieldIssue] = []
        if request.due is not None and request.due < now.date():
            problems.append(FieldIssue("due", "is in the past"))
        if request.due is not None and request.due < received:
            problems.append(FieldIssue("due", "is before the process was received"))
        if received > now.date():
            problems.append(FieldIssue("received", "is in the future"))
        start = clock.utc(request.window_from) if request.window_from else None
        end = clock.utc(request.window_to) if request.window_to else None
        if start is not None and end is not None and end < start:
            problems.append(FieldIssue("to", "is before from"))
        networks: list[tuple[bytes, bytes]] = []
        for position, network in enumerate(request.networks):
            try:
                networks.append(network_range(network))
            except EventError:
                problems.append(FieldIssue(f"networks.{position}", "not an IP address or CIDR network"))
        for position, identifier in enumerate(request.identifiers):
            if identifier.kind == "national_id" and identifier.country is None:
                problems.append(FieldIssue(f"identifiers.{position}.country",
                                           "a national ID needs its issuing country"))
        if not (request.customers or request.accounts or request.identifiers or request.networks):
            problems.append(FieldIssue("scope", "name at least one customer, account, identifier or network"))
        if problems:
            raise InvalidInput(fields=problems)
        process_id = str(uuid.uuid4())
        index_key = self.keyring.blind_index_key()
        scope_rows: list[dict[str, Any]] = (
            [{"kind": "customer", "subject_id": c} for c in dict.fromkeys(request.customers)]
            + [{"kind": "account", "subject_id": a} for a in dict.fromkeys(request.accounts)]
            + [{"kind": "identifier", "identifier_kind": i.kind,
                "identifier_index": blind_index(index_key, i.kind, i.value,
                                                scope=i.country or "" if i.kind == "national_id" else "")}
               for i in request.identifiers]
            + [{"kind": "network", "network_low": low, "network_high": high} for low, high in networks])
        with self.ledger.unit_of_work() as work:
            tree_size = self._tree_size(work.conn)
            work.conn.execute(insert(legal_process).values(
                id=process_id, kind=request.kind, authority=request.authority, reference=request.reference,
                handler=request.handler, received_on=received, due_on=request.due, window_from=start,
                window_to=end, unmask=request.unmask, state="open", registered_at=now, registered_by=actor.name,
                registered_tree_size=tree_size, closed_at=None))
            work.conn.execute(insert(legal_process_scope), [
                {"process_id": process_id, "subject_id": None, "identifier_kind": None, "identifier_index": None,
                 "network_low": None, "network_high": None, **row} for row in scope_rows])
            resolved = resolve_scope(work.conn, process_id)
            work.log(LedgerAction(actor.name, actor.role, "register", "legal_process", process_id,
                                  purpose=f"legal process received: {request.kind}", legal_basis=process_id,
                                  detail={"customers": len(resolved.customers), "accounts": len(resolved.accounts)}))
            record = self._record(work.conn, process_id, resolved)
        if resolved.empty:
            record.warnings.append("the scope matches no customer, account or access history (yet)")
        return record

    @staticmethod
    def _tree_size(conn: Connection) -> int:
        from cloudcip.ledger.schema import ledger_state

        return int(conn.execute(select(ledger_state.c.tree_size).where(ledger_state.c.id == 1)).scalar_one())

    # -- read ----------------------------------------------------------------------------------
    def show(self, process_id: str, actor: Actor) -> ProcessRecord:
        _require(actor, "legal_process:read")
        with self.ledger.unit_of_work() as work:
            record = self._record(work.conn, process_id, resolve_scope(work.conn, process_id))
            work.log(LedgerAction(actor.name, actor.role, "read", "legal_process", process_id,
                                  purpose="legal process register"))
        return record

    def list(self, actor: Actor, *, state: str | None = None) -> list[ProcessRecord]:
        _require(actor, "legal_process:read")
        with self.database.engine.connect() as conn:
            query = select(legal_process.c.id).order_by(legal_process.c.registered_at, legal_process.c.id)
            if state is not None:
                query = query.where(legal_process.c.state == state)
            return [self._record(conn, str(pid), None) for pid in conn.execute(query).scalars()]

    def close(self, process_id: str, actor: Actor) -> ProcessRecord:
        """The process is answered or withdrawn: no further legal read or production under it."""
        _require(actor, "legal_process:write")
        with self.ledger.unit_of_work() as work:
            row = work.conn.execute(select(legal_process.c.state).where(legal_process.c.id == process_id)).first()
            if row is None:
                raise ProcessNotFound()
            if row.state != "open":
                raise Conflict("the legal process is already closed")
            work.conn.execute(update(legal_process).where(legal_process.c.id == process_id)
                              .values(state="closed", closed_at=self.clock()))
            work.log(LedgerAction(actor.name, actor.role, "close", "legal_process", process_id,
                                  purpose="legal process closed", legal_basis=process_id))
            return self._record(work.conn, process_id, None)

    def _record(self, conn: Connection, process_id: str, resolved: ResolvedScope | None) -> ProcessRecord:
        row = conn.execute(select(legal_process).where(legal_process.c.id == process_id)).first()
        if row is None:
            raise ProcessNotFound()
        named: dict[str, int] = {}
        for kind in conn.execute(select(legal_process_scope.c.kind)
                                 .where(legal_process_scope.c.process_id == process_id)).scalars():
            named[f"named_{kind}s"] = named.get(f"named_{kind}s", 0) + 1
        if resolved is not None:
            named["customers_in_scope"] = len(resolved.customers)
            named["accounts_in_scope"] = len(resolved.accounts)
        return ProcessRecord(
            id=row.id, kind=row.kind, authority=row.authority, reference=row.reference, handler=row.handler,
            received=row.received_on, due=row.due_on, window_from=clock.utc_or_none(row.window_from),
            window_to=clock.utc_or_none(row.window_to), unmask=bool(row.unmask), state=row.state,
            registered_at=clock.utc(row.registered_at), registered_tree_size=int(row.registered_tree_size),
            scope=named)


# -- scope ---------------------------------------------------------------------------------------
def process_row(conn: Connection, process_id: str) -> Any:
    row = conn.execute(select(legal_process).where(legal_process.c.id == process_id)).first()
    if row is None:
        raise ProcessNotFound()
    return row


def resolve_scope(conn: Connection, process_id: str) -> ResolvedScope:
    """What the process covers now: its named customers and accounts, the customers holding a named
    identifier, every account of a customer in scope, and the accounts seen from a named network
    within the window (those only for the access from that network)."""
    row = process_row(conn, process_id)
    scope = ResolvedScope(window_from=clock.utc_or_none(row.window_from), window_to=clock.utc_or_none(row.window_to))
    named_accounts: set[str] = set()
    named_customers: list[str] = []
    for item in conn.execute(select(legal_process_scope).where(legal_process_scope.c.process_id == process_id)):
        if item.kind == "customer":
            named_customers.append(str(item.subject_id))
        elif item.kind == "account":
            named_accounts.add(str(item.subject_id))
        elif item.kind == "identifier":
            kind: IndexedKind = item.identifier_kind
            scope.customers.update(find_by_index(conn, kind, str(item.identifier_index)))
        elif item.kind == "network":
            scope.networks.append(NetworkScope(bytes(item.network_low), bytes(item.network_high)))
    for start in range(0, len(named_customers), _CHUNK):  # only those that exist
        scope.customers.update(str(c) for c in conn.execute(
            select(customer.c.id).where(customer.c.id.in_(named_customers[start:start + _CHUNK]))).scalars())
    ids = sorted(named_accounts)
    for start in range(0, len(ids), _CHUNK):
        scope.customers.update(str(c) for c in conn.execute(
            select(account.c.customer_id).where(account.c.id.in_(ids[start:start + _CHUNK]))).scalars())
    for start in range(0, len(ids), _CHUNK):  # named accounts that exist, or have access history
        chunk = ids[start:start + _CHUNK]
        scope.accounts_in_full.update(str(a) for a in conn.execute(select(account.c.id).where(account.c.id.in_(chunk)))
                                      .scalars())
        scope.accounts_in_full.update(str(a) for a in conn.execute(
            select(access_account_activity.c.account_id).where(access_account_activity.c.account_id.in_(chunk)))
            .scalars())
    customers = sorted(scope.customers)
    for start in range(0, len(customers), _CHUNK):
        scope.accounts_in_full.update(str(a) for a in conn.execute(
            select(account.c.id).where(account.c.customer_id.in_(customers[start:start + _CHUNK]))).scalars())
    scope.accounts.update(scope.accounts_in_full)
    seen = access_ip_seen.c
    for network in scope.networks:
        query = select(seen.account_id).where(seen.ip >= network.low, seen.ip <= network.high).distinct()
        if scope.window_from is not None:
            query = query.where(seen.last_seen_ms >= int(scope.window_from.timestamp() * 1000))
        if scope.window_to is not None:
            query = query.where(seen.first_seen_ms <= int(scope.window_to.timestamp() * 1000))
        scope.accounts.update(str(a) for a in conn.execute(query).scalars())
    return scope


# -- legal reads ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class LegalRead:
    """What a read under a legal basis touches: a customer record, an account's access history in a
    window, or the accounts seen from a network in a window."""

    customer_id: str | None = None
    account_id: str | None = None
    network: str | None = None
    window_from: datetime | None = None
    window_to: datetime | None = None


def check_legal_read(conn: Connection, legal_basis: str | None, read: LegalRead) -> None:
    """B4: a read under ``X-Legal-Basis`` must name a registered, open legal process whose scope
    covers what is read; anything else is ``Forbidden`` (the detail names the state, never values)."""
    if not legal_basis:
        raise Forbidden("a legal read needs X-Legal-Basis naming a registered legal process")
    try:
        uuid.UUID(legal_basis)
    except ValueError:
        raise Forbidden("X-Legal-Basis does not name a registered legal process") from None
    try:
        row = process_row(conn, legal_basis)
    except ProcessNotFound:
        raise Forbidden("X-Legal-Basis does not name a registered legal process") from None
    if row.state != "open":
        raise Forbidden("the legal process named by X-Legal-Basis is closed")
    scope = resolve_scope(conn, legal_basis)
    if read.customer_id is not None and read.customer_id not in scope.customers:
        raise Forbidden("the customer is outside the scope of the legal process")
    if read.account_id is not None and read.account_id not in scope.accounts:
        raise Forbidden("the account is outside the scope of the legal process")
    if read.network is not None:
        try:
            low, high = network_range(read.network)
        except EventError:
            raise InvalidInput.field("ip", "not an IP address or CIDR network") from None
        if not any(n.low <= low and high <= n.high for n in scope.networks):
            raise Forbidden("the network is outside the scope of the legal process")
    if read.account_id is None and read.network is None:
        return  # a record read: the window bounds only reads of access history
    if scope.window_from is not None and (read.window_from is None or clock.utc(read.window_from) < scope.window_from):
        raise Forbidden("the read's window starts before the legal process's window (give from)")
    if scope.window_to is not None and (read.window_to is None or clock.utc(read.window_to) > scope.window_to):
        raise Forbidden("the read's window ends after the legal process's window (give to)")


__all__ = [
    "DELETION_KINDS",
    "PROCESS_KINDS",
    "LegalProcessInput",
    "LegalProcessService",
    "LegalRead",
    "ProcessNotFound",
    "ProcessRecord",
    "ResolvedScope",
    "ScopedIdentifier",
    "check_legal_read",
    "process_row",
    "resolve_scope",
]

"""The CIP certification to Commerce, generated from live data, and its filing (H1).

The form holds the eight items of H1: the verification procedures (from the CIP policy in force),
the resources used to detect malicious activity (the lists, measures, access signals and IP
intelligence actually configured), the reseller oversight procedures (from the reseller controls
that exist and their figures), the CIP contact, the number and locations of customers, the number
and locations of foreign beneficial owners, the list of foreign resellers, and the number of foreign
customers' accounts whose identity is not verified. Every figure carries the SQL that produced it.

A person counts as foreign unless a determination says U.S. person (A2: undetermined counts as
foreign). Filing stores the form's canonical JSON with its SHA-256 and puts the filing on the ledger.
``certification_gate`` is the hook the signup decision asks: while no certification is filed, a
foreign customer is not granted access (its case waits in ``pending_evidence`` with the reason).
The counts over every customer (items 5, 6 and 8) are kept by :class:`FigureCache` until a database
trigger says the records they count changed, so a second rendering does not count 100,000 customers again.
Filing calls ``on_filed`` (:class:`CertificationFiled`, wired by ``runtime``: the verification
workflow's ``release_held_cases``), so the cases the gate held proceed at once, without a manual step.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import threading
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    union_all,
)

from cloudcip import clock
from cloudcip.access.schema import ipintel_dataset
from cloudcip.access.signals import SIGNAL_KINDS
from cloudcip.errors import Forbidden, Refused
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.customer_store import CustomerStore
from cloudcip.records.roles import Actor, may
from cloudcip.reports.schema import certification_filing, cip_contact, report_figure_stamp
from cloudcip.resellers.register import foreign_resellers
from cloudcip.resellers.register_schema import reseller_finding, reseller_review, reseller_termination_clock
from cloudcip.resellers.schema import sub_lessee, sub_lessee_rescreen_run
from cloudcip.screening.schema import list_snapshot, special_measure
from cloudcip.storage.database import Database
from cloudcip.storage.schema import account, beneficial_owner, customer
from cloudcip.verification.policy import CipPolicy, describe_requirement
from cloudcip.verification.schema import application, person_determination

FORM = "cloudcip-cip-certification-v1"
COUNTED = ("customers", "foreign_beneficial_owners", "unverified_foreign_accounts")


# the triggers of migration 0077 (five tables; SQLite has one per event, PostgreSQL one per table)
WATCHED_TRIGGERS = {
    "sqlite": (text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                    "AND name LIKE 'certification_stamp_%'"), 15),
    "postgresql": (text("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'certification_stamp_%' "
                        "AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = "
                        "(SELECT oid FROM pg_namespace WHERE nspname = current_schema()))"), 5),
}


@dataclass
class _Counted:
    stamp: int
    figures: dict[str, Any]


class FigureCache:
    """The certification's counts over the records (customers and foreign beneficial owners by
    country, unverified foreign accounts: the items that grow with the customers), kept per database
    with the ``report_figure_stamp`` counter read before they were computed. Triggers (migration 0077)
    bump the counter in the same transaction as any insert, delete or relevant update of the tables
    they count (customer, beneficial_owner, person_determination, application, account), whatever
    code path makes it; so counts kept under an unchanged counter are exactly the counts a new query
    would give. Reading the counter first makes the kept counts at worst newer than their stamp, never
    older: a change committed meanwhile only causes one more computation."""

    def __init__(self) -> None:
        self._kept: weakref.WeakKeyDictionary[Any, _Counted] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.hits = 0
        self.computed = 0

    @staticmethod
    def stamp(conn: Connection) -> int | None:
        """The counter, or None (nothing is kept) where its row or any of its triggers is missing (a
        table rebuilt by a later migration would have lost its SQLite triggers)."""
        triggers = WATCHED_TRIGGERS.get(conn.dialect.name)
        if triggers is None or int(conn.execute(triggers[0]).scalar_one()) != triggers[1]:
            return None
        value = conn.execute(select(report_figure_stamp.c.version)
                             .where(report_figure_stamp.c.name == "certification")).scalar()
        return None if value is None else int(value)

    def counts(self, engine: Any, conn: Connection, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        stamp = self.stamp(conn)
        with self._lock:
            kept = self._kept.get(engine)
            if stamp is not None and kept is not None and kept.stamp == stamp:
                self.hits += 1
                return copy.deepcopy(kept.figures)
        figures = compute()
        with self._lock:
            self.computed += 1
            if stamp is not None:
                self._kept[engine] = _Counted(stamp, copy.deepcopy(figures))
        return figures


_COMPILED: dict[Any, str] = {}  # the figures' SQL text by statement shape and values
FIGURES = FigureCache()  # one per process: the API, the console and the CLI of a process share it


def policy_fingerprint(policy: CipPolicy) -> dict[str, str]:
    """The policy's id and version, and the SHA-256 of what it makes happen (its rules and review
    triggers): a change of that hash is a material change (H2: an out-of-cycle update)."""
    material = policy.model_dump(mode="json", include={"rules", "review_triggers"})
    digest = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
    return {"id": policy.policy_id, "version": policy.version, "rules_sha256": digest}


def us_determined(subject: ColumnElement[Any], customer_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """Some determination of an application of ``customer_id`` says ``subject`` is a U.S. person."""
    return exists(select(literal(1)).select_from(
        person_determination.join(application, application.c.id == person_determination.c.application_id))
        .where(application.c.customer_id == customer_id, person_determination.c.subject == subject,
               person_determination.c.status == "us_person"))


FOREIGN_CUSTOMER = ~us_determined(literal("customer"), customer.c.id)
LIVE_CUSTOMER = customer.c.status != "purged"


def live(customer_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """``customer_id`` is not a purged customer's: the few purged ids read once from the index of the
    purged customers' ids (migrations 0090, 0108) rather than each row's customer read (a wide row) to
    look at its status. 'purged' is written in the statement: the index holds the rows WHERE status =
    'purged', which SQLite and PostgreSQL can match with a literal, not with a bound parameter."""
    return customer_id.not_in(select(customer.c.id).where(customer.c.status == literal_column("'purged'")))


class CertificationFiled(Protocol):
    """Told that a certification was filed (by ``actor``); answers how many held cases it approved."""

    def __call__(self, actor: Actor) -> int: ...


@dataclass
class CertificationService:
    database: Database
    ledger: Ledger
    customers: CustomerStore
    policy: CipPolicy
    clock: Callable[[], datetime] = clock.now
    on_filed: CertificationFiled | None = None
    cache: FigureCache | None = FIGURES

    # -- the form ------------------------------------------------------------------------------
    def render(self, actor: Actor, as_of: date | None = None) -> dict[str, Any]:
        """The certification form as of ``as_of`` (default today), from the live records."""
        if not may(actor.role, "certification:read"):
            raise Forbidden(f"role {actor.role} may not read the certification")
        day = as_of or self.clock().date()
        with self.ledger.unit_of_work() as work:
            conn = work.conn
            counted = (self.cache.counts(self.database.engine, conn, lambda: self._counted(conn))
                       if self.cache is not None else self._counted(conn))
            resellers = self._foreign_resellers(conn)
            for item in resellers["value"]:
                work.log(LedgerAction(actor.name, actor.role, "read", "customer", item["customer_id"],
                                      purpose="CIP certification: list of foreign resellers"))
            form = {
                "form": FORM, "as_of": day.isoformat(), "generated_at": clock.iso(self.clock()),
                "policy": policy_fingerprint(self.policy),
                "items": {
                    "verification_procedures": self._procedures(),
                    "detection_resources": self._detection(conn, day),
                    "reseller_oversight": self._oversight(conn),
                    "cip_contact": self._contact(conn),
                    "customers": counted["customers"],
                    "foreign_beneficial_owners": counted["foreign_beneficial_owners"],
                    "foreign_resellers": resellers,
                    "unverified_foreign_accounts": counted["unverified_foreign_accounts"],
                },
            }
            work.log(LedgerAction(actor.name, actor.role, "render_certification", "certification", day.isoformat(),
                                  purpose="CIP certification (H1)"))
        return form

    def _counted(self, conn: Connection) -> dict[str, Any]:
        """Items 5, 6 and 8: the counts over every customer (what ``cache`` keeps)."""
        return {
            "customers": self._grouped(conn, select(customer.c.residence_country, func.count())
                                       .where(LIVE_CUSTOMER).group_by(customer.c.residence_country)),
            "foreign_beneficial_owners": self._grouped(conn, self._foreign_owners_query()),
            "unverified_foreign_accounts": self._figure(conn, self._unverified_query()),
        }

    @staticmethod
    def _sql(conn: Connection, statement: Select[Any]) -> str:
        """The statement as SQL with its values written in (what the form shows beside each figure),
        compiled once per statement shape and values (SQLAlchemy's cache key), not once per rendering."""
        key = statement._generate_cache_key()
        memo = None
        if key is not None:
            try:
                memo = (conn.dialect.name, key.key, tuple(repr(p.effective_value) for p in key.bindparams))
                hash(memo)
            except TypeError:
                memo = None
        if memo is not None and memo in _COMPILED:
            return _COMPILED[memo]
        text_ = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        if memo is not None and len(_COMPILED) < 1000:
            _COMPILED[memo] = text_
        return text_

    def _figure(self, conn: Connection, statement: Select[Any]) -> dict[str, Any]:
        return {"value": int(conn.execute(statement).scalar_one()), "query": self._sql(conn, statement)}

    def _grouped(self, conn: Connection, statement: Select[Any]) -> dict[str, Any]:
        """A count by location: ``{"total", "by_country": {CC: n}, "query"}`` (no country: ``unknown``)."""
        by_country = {str(country or "unknown"): int(count) for country, count in conn.execute(statement)}
        return {"total": sum(by_country.values()), "by_country": dict(sorted(by_country.items())),
                "query": self._sql(conn, statement)}

    def _procedures(self) -> dict[str, Any]:
        rules = []
        for rule in self.policy.rules:
            rules.append({
                "rule": rule.id, "applies_to": rule.match.label(), "description": rule.description,
                "verification": describe_requirement(rule.verification),
                "methods": list(rule.verification.methods),
                "pending_restrictions": [r.label for r in rule.pending.restrictions],
                "deadline_days": rule.deadline.days, "failure_action": rule.failure_action,
                "reverification_interval_days": rule.reverification_interval_days})
        return {"source": f"CIP policy {self.policy.policy_id} version {self.policy.version}", "rules": rules}

    def _detection(self, conn: Connection, day: date) -> dict[str, Any]:
        newest = select(list_snapshot.c.source, func.max(list_snapshot.c.version).label("version")) \
            .group_by(list_snapshot.c.source).subquery()
        lists = select(list_snapshot.c.source, list_snapshot.c.version, list_snapshot.c.parties,
                       list_snapshot.c.imported_at).join(newest, and_(
                           list_snapshot.c.source == newest.c.source, list_snapshot.c.version == newest.c.version)) \
            .order_by(list_snapshot.c.source)
        measures = select(func.count()).select_from(special_measure).where(
            special_measure.c.revoked_at.is_(None), special_measure.c.effective_date <= day,
            special_measure.c.expires_on >= day)
        intel = select(ipintel_dataset.c.kind, func.count()).group_by(ipintel_dataset.c.kind)
        return {
            "screening_lists": {"value": [{"source": r.source, "version": int(r.version), "parties": int(r.parties),
                                           "imported_at": clock.iso(r.imported_at)} for r in conn.execute(lists)],
                                "query": self._sql(conn, lists)},
            "special_measures_in_force": self._figure(conn, measures),
            "access_signals": {"value": list(SIGNAL_KINDS),
                               "source": "raised from every access event by the signal follower (C4)"},
            "ip_intelligence_datasets": {"value": {str(k): int(n) for k, n in conn.execute(intel)},
                                         "query": self._sql(conn, intel)},
            "linkage": {"value": importlib.util.find_spec("cloudcip.linkage") is not None,
                        "source": "the shared-identifier graph (G1), where installed"},
        }

    def _oversight(self, conn: Connection) -> dict[str, Any]:
        resellers = select(func.count()).select_from(account).where(account.c.type == "reseller")
        active = select(func.count()).select_from(sub_lessee).where(sub_lessee.c.status == "active")
        runs = select(func.count()).select_from(sub_lessee_rescreen_run).where(
            sub_lessee_rescreen_run.c.finished_at.is_not(None))
        return {
            "procedures": [
                "Reseller Accounts share their sub-lessees through the API; each is sealed, screened on arrival "
                "against the designated-person lists and special measures, and re-screened when a list or "
                "measure changes (E2, D3, D4).",
                "Special measures that cover Reseller Accounts reach through to the sub-lessees (D1, D4).",
                "Each reseller is on a register with its own written CIP, contract attestation and certification "
                "dates; reviews draw a reproducible random sample of its sub-lessees and record each item's "
                "verification evidence; a finding of non-compliance starts a termination clock that restricts "
                "the reseller's accounts on its last day unless remediated with evidence (E1, E3).",
            ],
            "reseller_accounts": self._figure(conn, resellers),
            "active_sub_lessees": self._figure(conn, active),
            "sub_lessee_rescreening_runs": self._figure(conn, runs),
            # E3: the register's oversight: reviews with a drawn sample, findings, terminations
            "reseller_reviews_sampled": self._figure(conn, select(func.count()).select_from(reseller_review)
                                                     .where(reseller_review.c.sampled_at.is_not(None))),
            "reseller_findings_of_non_compliance": self._figure(
                conn, select(func.count()).select_from(reseller_finding)
                .where(reseller_finding.c.kind.in_(("non_compliant", "malicious_activity")))),
            "resellers_terminated": self._figure(conn, select(func.count()).select_from(reseller_termination_clock)
                                                 .where(reseller_termination_clock.c.state == "terminated")),
        }

    @staticmethod
    def _contact(conn: Connection) -> dict[str, Any] | None:
        row = conn.execute(select(cip_contact).order_by(cip_contact.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return {"name": row.name, "title": row.title, "email": row.email, "phone": row.phone,
                "since": clock.iso(row.set_at)}

    @staticmethod
    def _foreign_owners_query() -> Select[Any]:
        """Live customers' beneficial owners by country, less those some determination says are U.S.
        persons: every owner counted from an index, and the U.S. ones found from the (few)
        determinations' side and subtracted, instead of a correlated look-up for each owner. A country
        left with no foreign owner is not listed (as a count of the foreign ones alone would not)."""
        owner = beneficial_owner.c
        subject = literal("beneficial_owner:") + func.cast(owner.position, customer.c.id.type)
        us = (select(application.c.customer_id.label("customer_id"), person_determination.c.subject.label("subject"))
              .select_from(person_determination.join(application,
                                                     application.c.id == person_determination.c.application_id))
              .where(person_determination.c.status == "us_person").distinct().subquery("us_owner"))
        every = (select(owner.residence_country.label("country"), func.count().label("n"))
                 .where(live(owner.customer_id)).group_by(owner.residence_country))
        determined = (select(owner.residence_country.label("country"), (-func.count()).label("n"))
                      .select_from(beneficial_owner.join(us, and_(us.c.customer_id == owner.customer_id,
                                                                  us.c.subject == subject)))
                      .where(live(owner.customer_id)).group_by(owner.residence_country))
        both = union_all(every, determined).subquery("owners")
        return (select(both.c.country, func.sum(both.c.n)).group_by(both.c.country)
                .having(func.sum(both.c.n) != 0))

    @staticmethod
    def _unverified_query() -> Select[Any]:
        """Open accounts of foreign customers whose newest case is not approved (or that have none).

        An approved case is the newest when no case of the account is later: its ``created_at`` is the
        account's latest. Both subqueries are correlated with the outer account explicitly (left to
        itself, the innermost one took an ``account`` of its own and compared with every account's
        cases) and are answered from the (account, created_at) index (migration 0061)."""
        case, later = application.alias("newest_case"), application.alias("later_case")
        latest = (select(func.max(later.c.created_at)).where(later.c.account_id == account.c.id)
                  .correlate(account).scalar_subquery())
        approved = exists(select(literal(1)).select_from(case).where(
            case.c.account_id == account.c.id, case.c.created_at == latest, case.c.state == "approved")
            .correlate(account))
        return (select(func.count()).select_from(account)
                .where(live(account.c.customer_id), ~us_determined(literal("customer"), account.c.customer_id),
                       account.c.closed_at.is_(None),
                       account.c.state.not_in(("closed", "refused")), ~approved))

    def _foreign_resellers(self, conn: Connection) -> dict[str, Any]:
        statement = (select(account.c.id, account.c.customer_id, customer.c.residence_country)
                     .select_from(account.join(customer, customer.c.id == account.c.customer_id))
                     .where(account.c.type == "reseller", LIVE_CUSTOMER, FOREIGN_CUSTOMER)
                     .order_by(account.c.id))
        rows = conn.execute(statement).all()
        names = self.customers.names_in(conn, sorted({row.customer_id for row in rows}))  # only the names opened
        items = [{"account_id": row.id, "customer_id": row.customer_id, "name": names.get(row.customer_id, ""),
                  "country": row.residence_country} for row in rows]
        # E1: the reseller register's foreign resellers, with their certification dates and CIP on file
        return {"value": items, "query": self._sql(conn, statement), "register": foreign_resellers(conn)}

    # -- filing --------------------------------------------------------------------------------
    def file(self, actor: Actor, as_of: date | None = None) -> dict[str, Any]:
        """File the certification: its form stored with its SHA-256, and on the ledger."""
        if not may(actor.role, "certification:file"):
            raise Forbidden(f"role {actor.role} may not file the certification")
        form = self.render(actor, as_of)
        if form["items"]["cip_contact"] is None:
            raise Refused.field("cip_contact", "set the CIP contact before filing (cloudcip reporting contact set)")
        filing = self.store_filing(form, "certification", actor)
        filing["held_cases_approved"] = self.on_filed(actor) if self.on_filed is not None else 0
        return filing

    def store_filing(self, form: dict[str, Any], kind: str, actor: Actor) -> dict[str, Any]:
        """Store a filed form (certification, attestation, out-of-cycle update) hashed, and on the ledger."""
        text = json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(text.encode()).hexdigest()
        filing_id = str(uuid.uuid4())
        with self.ledger.unit_of_work() as work:
            work.conn.execute(insert(certification_filing).values(
                id=filing_id, kind=kind, as_of=date.fromisoformat(form["as_of"]), filed_at=self.clock(),
                filed_by=actor.name, sha256=digest, document_json=text))
            work.log(LedgerAction(actor.name, actor.role, f"file_{kind}", kind, filing_id,
                                  purpose=f"{kind.replace('_', ' ')} filed", detail={"sha256": digest}))
        return {"id": filing_id, "kind": kind, "as_of": form["as_of"], "sha256": digest}


def filed_certification(conn: Connection) -> Any:
    """The newest filed certification (None when none is)."""
    return conn.execute(select(certification_filing.c.id, certification_filing.c.filed_at,
                               certification_filing.c.sha256)
                        .where(certification_filing.c.kind == "certification")
                        .order_by(certification_filing.c.filed_at.desc()).limit(1)).first()


GATE_REASON = ("certification_not_filed: no CIP certification is filed with Commerce (H1); a foreign "
               "customer is granted access once one is")


def certification_gate(database: Database) -> Callable[[], str | None]:
    """The hook the signup decision asks before granting a foreign customer access: the reason to
    wait, or None once a certification is filed."""

    def reason() -> str | None:
        with database.engine.connect() as conn:
            return None if filed_certification(conn) is not None else GATE_REASON

    return reason


__all__ = ["FIGURES", "FORM", "GATE_REASON", "CertificationFiled", "CertificationService", "FigureCache",
           "certification_gate", "filed_certification"]


def form_queries(form: dict[str, Any]) -> list[tuple[str, str]]:
    """Every figure's key and the SQL that produced it, in the form's order."""
    found: list[tuple[str, str]] = []

    def walk(key: str, value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("query"), str):
                found.append((key, value["query"]))
            for name, inner in value.items():
                if name != "query":
                    walk(name, inner)

    walk("items", form["items"])
    return found


def render_html(form: dict[str, Any]) -> str:
    """The form as HTML, each figure linked to its query (listed at the end)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(loader=PackageLoader("cloudcip.reports", "templates"),
                              autoescape=select_autoescape(enabled_extensions=("html.j2",)),
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return environment.get_template("certification.html.j2").render(form=form, queries=form_queries(form))

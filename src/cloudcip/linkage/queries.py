"""Reading the linkage graph (G1): a customer's links, a cluster, the path joining two customers, and the
ban-evasion check a signup asks.

Answers name subjects by id and identifiers by kind, strength and a masked display; never a value.

**Ban evasion.** A signup whose *strong* identifiers (card, bank account, wallet, national ID, phone,
normalised e-mail, device) are held by a customer that is **flagged** — an account refused, closed or
restricted (by a failed verification or a special measure), a confirmed designated-person hit, a
confirmed match of a peer's indicator, or an incident report of malicious activity — is sent to review,
naming the link. A *weak* link (the same signup address, /24 or /64, hosting ASN, access address) to a
flagged customer is reported as a note and scored, never a review or a refusal by itself: strangers
share carrier NATs.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import BindParameter, Connection, Select, and_, bindparam, literal, select, union_all

from cloudcip.access.schema import access_ip_seen
from cloudcip.errors import NotFound
from cloudcip.incidents.schema import incident_report
from cloudcip.linkage.identifiers import ACCESS_WINDOW, STRONG_KINDS, Identifier, strength_of
from cloudcip.linkage.schema import link_cluster, link_identifier
from cloudcip.resellers.schema import sub_lessee
from cloudcip.screening.schema import screening_hit
from cloudcip.sharing.schema import shared_indicator_match
from cloudcip.storage.database import Database
from cloudcip.storage.prepared import Prepared
from cloudcip.storage.schema import account, customer

FLAGGED_ACCOUNT_STATES = {"refused": "refused", "closed": "closed", "restricted": "restricted"}
MAX_LINKS = 200
MAX_PATH = 8


@dataclass(frozen=True)
class LinkFinding:
    """One link of a signup to a flagged customer: what joins them and why the other is flagged."""

    kind: str
    strength: str
    other_customer_id: str
    flags: tuple[str, ...]
    display: str

    @property
    def evasion(self) -> bool:
        """Strong link to a flagged customer: review, naming the link."""
        return self.strength == "strong"

    def reason(self) -> str:
        """``ban_evasion_link:card: linked by card 411111••••••1111 (strong link) to a flagged customer
        (closed)``: the kind, the masked identifier of a strong link (the network of a weak one is left
        out), never a value in the clear nor the other customer."""
        what = "ban_evasion_link" if self.evasion else "weak_link"
        shown = f" {self.display}" if self.evasion and self.display else ""
        return (f"{what}:{self.kind}: linked by {self.kind.replace('_', ' ')}{shown} ({self.strength} link) to a "
                f"flagged customer ({'; '.join(self.flags)})")


FLAG_TEXT = {"refused": "refused", "closed": "closed", "restricted": "restricted",
             "hit": "a confirmed designated-person hit", "peer": "a confirmed peer indicator",
             "incident": "reported for malicious activity"}
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_TOKENS: BindParameter[Any] = bindparam("tokens", expanding=True)
_MATCH_ACCOUNT = account.alias("matched_account")
# one statement, built once (the signup's check runs it for every signup): the reason code of each
# flagged customer among :ids, from account states, confirmed hits, confirmed peer-indicator matches
# (of the customer or of one of its accounts) and incident reports of malicious activity
_FLAGS = union_all(
    select(account.c.customer_id.label("customer_id"), account.c.state.label("flag"))
    .where(account.c.customer_id.in_(_IDS), account.c.state.in_(sorted(FLAGGED_ACCOUNT_STATES))),
    select(screening_hit.c.subject_id, literal("hit"))
    .where(screening_hit.c.subject_id.in_(_IDS), screening_hit.c.subject_type == "customer",
           screening_hit.c.state == "confirmed"),
    select(shared_indicator_match.c.subject_id, literal("peer"))
    .where(shared_indicator_match.c.subject_type == "customer", shared_indicator_match.c.subject_id.in_(_IDS),
           shared_indicator_match.c.state == "confirmed"),
    select(_MATCH_ACCOUNT.c.customer_id, literal("peer"))
    .select_from(_MATCH_ACCOUNT.join(shared_indicator_match, and_(
        shared_indicator_match.c.subject_type == "account",
        shared_indicator_match.c.subject_id == _MATCH_ACCOUNT.c.id)))
    .where(_MATCH_ACCOUNT.c.customer_id.in_(_IDS), shared_indicator_match.c.state == "confirmed"),
    select(incident_report.c.customer_id, literal("incident"))
    .where(incident_report.c.customer_id.in_(_IDS), incident_report.c.kind == "malicious_activity"),
)




def _holders(tokens: BindParameter[Any]) -> Select[Any]:
    """The holders of ``tokens`` (at most ``MAX_LINKS``)."""
    return select(link_identifier.c.subject_type, link_identifier.c.subject_id, link_identifier.c.customer_id,
                  link_identifier.c.kind, link_identifier.c.token).where(link_identifier.c.token.in_(tokens)) \
        .limit(MAX_LINKS)


_HOLDERS = _holders(_TOKENS)
# a signup's strong and weak tokens in one statement, each part bounded on its own: the strong part's
# rows first, then the weak part's, as two statements would give them
_HOLDERS_APART = union_all(_HOLDERS.subquery("strong").select(),
                           _holders(bindparam("weak", expanding=True)).subquery("weak").select())
# the statements of every signup's check, run on the driver (``storage.prepared``)
_HOLDERS_RUN = Prepared(_HOLDERS)
_HOLDERS_APART_RUN = Prepared(_HOLDERS_APART)
_FLAGS_RUN = Prepared(_FLAGS)


class _Holder(NamedTuple):
    subject_type: str
    subject_id: str
    customer_id: str
    kind: str
    token: str


def flags_of(conn: Connection, customer_ids: Iterable[str]) -> dict[str, list[str]]:
    """Why each of ``customer_ids`` is flagged (empty: not flagged): account states first, then a
    confirmed hit, a confirmed peer indicator, an incident report."""
    ids = sorted(set(customer_ids))
    flags: dict[str, list[str]] = defaultdict(list)
    if not ids:
        return flags
    order = list(FLAG_TEXT)
    found: dict[str, set[str]] = defaultdict(set)
    for customer_id, flag in _FLAGS_RUN.all(conn, {"ids": ids}):
        found[str(customer_id)].add(str(flag))
    for customer_id, codes in found.items():
        flags[customer_id] = [FLAG_TEXT[code] for code in sorted(codes, key=order.index)]
    return flags


@dataclass
class LinkReader:
    database: Database

    def evasion_check(self, conn: Connection, identifiers: Sequence[Identifier],
                      exclude_customer: str | None = None,
                      exclude_subject: tuple[str, str] | None = None) -> list[LinkFinding]:
        """Links of a signup's identifiers to flagged customers (strong first)."""
        tokens = {item.token: item for item in identifiers}
        if not tokens:
            return []
        # strong and weak holders apart: a weak token thousands share (a hosting ASN, a carrier NAT) must
        # not crowd a strong link out of the bounded answer
        strong = [t for t, i in tokens.items() if i.kind in STRONG_KINDS]
        weak = [t for t, i in tokens.items() if i.kind not in STRONG_KINDS]
        if strong and weak:
            found = _HOLDERS_APART_RUN.all(conn, {"tokens": strong, "weak": weak})
        else:
            found = _HOLDERS_RUN.all(conn, {"tokens": strong or weak})
        rows = [_Holder(*row) for row in found]
        rows = [row for row in rows if row.customer_id != exclude_customer and tokens[row.token].kind == row.kind
                and (row.subject_type, row.subject_id) != exclude_subject]
        flags = flags_of(conn, [row.customer_id for row in rows if row.subject_type != "sub_lessee"])
        linked_sub_lessees = [row.subject_id for row in rows if row.subject_type == "sub_lessee"]
        refused_sub_lessees = set(conn.execute(select(sub_lessee.c.id).where(
            sub_lessee.c.id.in_(linked_sub_lessees), sub_lessee.c.status == "refused")).scalars()) \
            if linked_sub_lessees else set()
        findings: dict[tuple[str, str], LinkFinding] = {}
        for row in rows:
            # a sub-lessee is flagged by its own refusal, never by its reseller's standing
            reasons = (["a refused sub-lessee"] if row.subject_id in refused_sub_lessees else []) \
                if row.subject_type == "sub_lessee" else flags.get(row.customer_id, [])
            if reasons:
                findings[(row.kind, row.subject_id)] = LinkFinding(
                    row.kind, strength_of(row.kind), row.customer_id, tuple(reasons), tokens[row.token].display)
        return sorted(findings.values(), key=lambda f: (f.strength != "strong", f.kind, f.other_customer_id))

    def links_of_customer(self, customer_id: str) -> dict[str, Any]:
        """The customer's (and its beneficial owners') links to other subjects, and its cluster."""
        with self.database.engine.connect() as conn:
            if conn.execute(select(customer.c.id).where(customer.c.id == customer_id)).first() is None:
                raise NotFound("no such customer record")
            own = conn.execute(select(link_identifier.c.subject_type, link_identifier.c.subject_id,
                                      link_identifier.c.kind, link_identifier.c.token, link_identifier.c.display)
                               .where(link_identifier.c.customer_id == customer_id)).all()
            tokens = {row.token for row in own}
            others = conn.execute(
                select(link_identifier.c.subject_type, link_identifier.c.subject_id, link_identifier.c.customer_id,
                       link_identifier.c.kind, link_identifier.c.token)
                .where(link_identifier.c.token.in_(tokens), link_identifier.c.customer_id != customer_id)
                .limit(MAX_LINKS)).all() if tokens else []
            displays = {(row.kind, row.token): row.display for row in own}
            linked: dict[tuple[str, str], dict[str, Any]] = {}
            for row in others:
                if (row.kind, row.token) not in displays:
                    continue
                entry = linked.setdefault((row.subject_type, row.subject_id), {
                    "subject_type": row.subject_type, "subject_id": row.subject_id, "customer_id": row.customer_id,
                    "links": []})
                entry["links"].append({"kind": row.kind, "strength": strength_of(row.kind),
                                       "identifier": displays[(row.kind, row.token)]})
            for entry in self._access_links(conn, customer_id):
                existing = linked.setdefault((entry["subject_type"], entry["subject_id"]), {**entry, "links": []})
                existing["links"] += entry["links"]
            flags = flags_of(conn, [entry["customer_id"] for entry in linked.values()])
            cluster = conn.execute(select(link_cluster.c.cluster_id).where(
                link_cluster.c.subject_type == "customer", link_cluster.c.subject_id == customer_id)).first()
        items = []
        for entry in linked.values():
            strong = any(link["strength"] == "strong" for link in entry["links"])
            items.append({**entry, "strength": "strong" if strong else "weak",
                          "flags": flags.get(entry["customer_id"], [])})
        items.sort(key=lambda e: (e["strength"] != "strong", e["customer_id"], e["subject_id"]))
        return {"customer_id": customer_id, "cluster_id": cluster.cluster_id if cluster else None,
                "identifiers": [{"subject_type": row.subject_type, "kind": row.kind, "strength": strength_of(row.kind),
                                 "identifier": row.display} for row in own],
                "links": items}

    def _access_links(self, conn: Connection, customer_id: str) -> list[dict[str, Any]]:
        """Other customers whose accounts used one of this customer's access addresses within the window."""
        window_ms = int(ACCESS_WINDOW / timedelta(milliseconds=1))
        mine = access_ip_seen.alias("mine")
        theirs = access_ip_seen.alias("theirs")
        own_accounts = select(account.c.id).where(account.c.customer_id == customer_id)
        rows = conn.execute(
            select(account.c.customer_id, theirs.c.account_id).distinct()
            .select_from(mine.join(theirs, and_(theirs.c.ip == mine.c.ip, theirs.c.account_id != mine.c.account_id))
                         .join(account, account.c.id == theirs.c.account_id))
            .where(mine.c.account_id.in_(own_accounts), account.c.customer_id != customer_id,
                   theirs.c.first_seen_ms <= mine.c.last_seen_ms + window_ms,
                   theirs.c.last_seen_ms >= mine.c.first_seen_ms - window_ms)
            .limit(MAX_LINKS)).all()
        return [{"subject_type": "customer", "subject_id": row.customer_id, "customer_id": row.customer_id,
                 "links": [{"kind": "access_ip", "strength": "weak",
                            "identifier": f"an access address of account {row.account_id} within "
                                          f"{ACCESS_WINDOW.days} days"}]} for row in rows]

    def cluster(self, cluster_id: str) -> dict[str, Any]:
        with self.database.engine.connect() as conn:
            members = conn.execute(select(link_cluster.c.subject_type, link_cluster.c.subject_id,
                                          link_cluster.c.customer_id)
                                   .where(link_cluster.c.cluster_id == cluster_id).limit(10_000)).all()
            if not members:
                raise NotFound("no such cluster")
            subjects = [(m.subject_type, m.subject_id) for m in members]
            kinds: dict[str, int] = defaultdict(int)
            rows = conn.execute(select(link_identifier.c.subject_type, link_identifier.c.subject_id,
                                       link_identifier.c.kind, link_identifier.c.token)
                                .where(link_identifier.c.customer_id.in_({m.customer_id for m in members}),
                                       link_identifier.c.kind.in_(STRONG_KINDS))).all()
            holders: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
            for row in rows:
                if (row.subject_type, row.subject_id) in subjects:
                    holders[(row.kind, row.token)].add((row.subject_type, row.subject_id))
            for (kind, _token), held in holders.items():
                if len(held) > 1:
                    kinds[kind] += len(held) - 1
            flags = flags_of(conn, {m.customer_id for m in members})
        return {"cluster_id": cluster_id, "size": len(members),
                "members": [{"subject_type": m.subject_type, "subject_id": m.subject_id, "customer_id": m.customer_id,
                             "flags": flags.get(m.customer_id, [])} for m in members],
                "link_kinds": [{"kind": kind, "strength": strength_of(kind), "links": count}
                               for kind, count in sorted(kinds.items())]}

    def explain(self, first: str, second: str) -> dict[str, Any]:
        """The shortest chain of shared identifiers joining two customers (masked), or none."""
        with self.database.engine.connect() as conn:
            for customer_id in (first, second):
                if conn.execute(select(customer.c.id).where(customer.c.id == customer_id)).first() is None:
                    raise NotFound("no such customer record")
            previous: dict[str, tuple[str, str, str] | None] = {first: None}
            queue: deque[tuple[str, int]] = deque([(first, 0)])
            while queue:
                current, depth = queue.popleft()
                if current == second or depth >= MAX_PATH:
                    continue
                own = conn.execute(select(link_identifier.c.kind, link_identifier.c.token, link_identifier.c.display)
                                   .where(link_identifier.c.customer_id == current)).all()
                display = {(row.kind, row.token): row.display for row in own}
                if not display:
                    continue
                neighbours = conn.execute(
                    select(link_identifier.c.customer_id, link_identifier.c.kind, link_identifier.c.token)
                    .where(link_identifier.c.token.in_({t for _, t in display}),
                           link_identifier.c.customer_id != current).limit(MAX_LINKS)).all()
                for row in sorted(neighbours, key=lambda r: (strength_of(r.kind) != "strong", r.kind)):
                    if (row.kind, row.token) in display and row.customer_id not in previous:
                        previous[row.customer_id] = (current, row.kind, display[(row.kind, row.token)])
                        queue.append((row.customer_id, depth + 1))
        if second not in previous:
            return {"from": first, "to": second, "linked": False, "path": []}
        path = []
        node = second
        while (step := previous[node]) is not None:
            path.append({"from": step[0], "to": node, "kind": step[1], "strength": strength_of(step[1]),
                         "identifier": step[2]})
            node = step[0]
        path.reverse()
        return {"from": first, "to": second, "linked": True,
                "strength": "strong" if all(p["strength"] == "strong" for p in path) else "weak", "path": path}

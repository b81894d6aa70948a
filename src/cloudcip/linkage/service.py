"""The linkage service: what the API, the CLI and the signup hook ask of the graph (G1, B3, B4).

Reads need ``links:read`` (analysts, compliance officers, legal, administrators) and are on the ledger;
the signup hook (``SignupLinkage``) records a new customer's identifiers in the signup's transaction
and answers the ban-evasion check before the decision.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from cloudcip import clock
from cloudcip.crypto.keyring import Keyring
from cloudcip.domain.customer import CustomerRecord
from cloudcip.errors import Forbidden
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.linkage.graph import LinkGraph, identifiers_of
from cloudcip.linkage.identifiers import Identifier
from cloudcip.linkage.queries import LinkFinding, LinkReader
from cloudcip.records.roles import Actor, may
from cloudcip.storage.database import Database

# the ASN and hosting flag of a signup address, from the operator's IP intelligence (C4), if any
AddressFacts = Callable[[str], tuple[int | None, bool]]


def _require(actor: Actor) -> None:
    if not may(actor.role, "links:read"):
        raise Forbidden(f"role {actor.role} may not read links")


@dataclass
class LinkageService:
    database: Database
    keyring: Keyring
    ledger: Ledger
    address_facts: AddressFacts | None = None
    now: Callable[[], datetime] = clock.now
    graph: LinkGraph = field(init=False)
    reader: LinkReader = field(init=False)
    _last: tuple[CustomerRecord, str | None, str | None, bytes, dict[str, list[Identifier]]] | None = field(
        init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.graph = LinkGraph(self.database, self.keyring, self.now)
        self.reader = LinkReader(self.database)

    # -- the signup hook --------------------------------------------------------------------------
    def _facts(self, signup_ip: str | None) -> tuple[int | None, bool]:
        if not signup_ip or self.address_facts is None:
            return None, False
        return self.address_facts(signup_ip)

    def _identifiers(self, record: CustomerRecord, signup_ip: str | None,
                     device_id: str | None) -> dict[str, list[Identifier]]:
        """The signup's identifiers by subject; the check and the record of one signup compute them once
        (the last signup's are kept with the record they belong to)."""
        key = self.keyring.blind_index_key()
        last = self._last
        if last is not None and last[0] is record and last[1:4] == (signup_ip, device_id, key):
            return last[4]
        asn, hosting = self._facts(signup_ip)
        by_subject = identifiers_of(key, record, signup_ip=signup_ip, device_id=device_id, asn=asn, hosting=hosting)
        self._last = (record, signup_ip, device_id, key, by_subject)
        return by_subject

    def check_signup(self, conn: Connection, record: CustomerRecord, *, signup_ip: str | None = None,
                     device_id: str | None = None) -> list[LinkFinding]:
        """Links of a new signup to flagged customers (strong ones mean review)."""
        by_subject = self._identifiers(record, signup_ip, device_id)
        identifiers = [item for found in by_subject.values() for item in found]
        return self.reader.evasion_check(conn, identifiers)

    def record_signup(self, conn: Connection, customer_id: str, record: CustomerRecord, *,
                      signup_ip: str | None = None, device_id: str | None = None,
                      owners: Mapping[str, str] | None = None) -> str:
        """The new customer into the graph, in the signup's transaction; its cluster id. ``owners``: its
        beneficial owners' ids by ``beneficial_owner:<n>`` when the signup has them (else looked up)."""
        by_subject = self._identifiers(record, signup_ip, device_id)
        self._last = None
        return self.graph.record_customer(conn, customer_id, record, by_subject=by_subject, owners=owners)

    # -- reads ------------------------------------------------------------------------------------
    def links(self, customer_id: str, actor: Actor, *, purpose: str | None = None) -> dict[str, Any]:
        _require(actor)
        answer = self.reader.links_of_customer(customer_id)
        with self.ledger.unit_of_work() as work:
            work.log(LedgerAction(actor.name, actor.role, "read_links", "customer", customer_id, purpose=purpose))
        return answer

    def cluster(self, cluster_id: str, actor: Actor, *, purpose: str | None = None) -> dict[str, Any]:
        _require(actor)
        answer = self.reader.cluster(cluster_id)
        with self.ledger.unit_of_work() as work:
            work.log(LedgerAction(actor.name, actor.role, "read_cluster", "link_cluster", cluster_id, purpose=purpose,
                                  detail={"size": answer["size"]}))
        return answer

    def explain(self, first: str, second: str, actor: Actor, *, purpose: str | None = None) -> dict[str, Any]:
        _require(actor)
        answer = self.reader.explain(first, second)
        with self.ledger.unit_of_work() as work:
            work.log(LedgerAction(actor.name, actor.role, "explain_link", "customer", first, purpose=purpose,
                                  detail={"other": second, "linked": answer["linked"]}))
        return answer

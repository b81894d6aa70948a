"""The linkage package's side of the signup hook (``verification.signup_links``) and of the sub-lessee
hook (``resellers.linking``) (G1, G3, E2).

A strong link (card, bank account, wallet, national ID, phone, normalised e-mail, device) to a flagged
customer asks for review; a weak one (signup address, /24 or /64, hosting ASN) is a note only: a
carrier NAT is shared by strangers, and nothing here ever refuses.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select

from cloudcip.access.schema import account_signal
from cloudcip.domain.customer import CustomerRecord
from cloudcip.linkage.graph import sub_lessee_identifiers
from cloudcip.linkage.schema import link_identifier
from cloudcip.linkage.service import LinkageService
from cloudcip.resellers.linking import SubLesseeLink, SubLesseeLinking
from cloudcip.sharing.schema import shared_indicator_match
from cloudcip.verification.signup_links import SignupLink


@dataclass
class LinkageSignupHook:
    linkage: LinkageService

    def check(self, conn: Connection, record: CustomerRecord, *, signup_ip: str | None,
              device_id: str | None) -> Sequence[SignupLink]:
        findings = self.linkage.check_signup(conn, record, signup_ip=signup_ip, device_id=device_id)
        seen: set[tuple[str, bool]] = set()
        links = []
        for finding in findings:  # one reason per kind of link, strongest first
            key = (finding.kind, finding.evasion)
            if key not in seen:
                seen.add(key)
                links.append(SignupLink(finding.kind, finding.strength, finding.evasion, finding.reason()))
        return links

    def record(self, conn: Connection, customer_id: str, record: CustomerRecord, *, signup_ip: str | None,
               device_id: str | None, owners: Mapping[str, str] | None = None) -> None:
        self.linkage.record_signup(conn, customer_id, record, signup_ip=signup_ip, device_id=device_id,
                                   owners=owners)


@dataclass
class LinkageSubLesseeHook:
    """The linkage package's side of ``resellers.linking.SubLesseeLinks`` (E2, G1, G3)."""

    linkage: LinkageService

    def record(self, conn: Connection, sub_lessee_id: str, reseller_account_id: str, reseller_customer_id: str,
               email: str | None, documents: Sequence[dict[str, str]], *,
               wallet: str | None = None) -> SubLesseeLinking:
        subject = ("sub_lessee", sub_lessee_id)
        key = self.linkage.keyring.blind_index_key()
        identifiers = sub_lessee_identifiers(key, email, documents, wallet)
        # a changed sub-lessee: what it carried before no longer links it
        conn.execute(delete(link_identifier).where(link_identifier.c.subject_type == "sub_lessee",
                                                   link_identifier.c.subject_id == sub_lessee_id))
        findings = self.linkage.reader.evasion_check(conn, identifiers, exclude_subject=subject)
        self.linkage.graph.record(conn, subject, reseller_customer_id, identifiers)
        now = self.linkage.now()
        links: list[SubLesseeLink] = []
        seen: set[tuple[str, bool]] = set()
        signals = 0
        for finding in findings:
            if (finding.kind, finding.evasion) in seen:
                continue
            seen.add((finding.kind, finding.evasion))
            links.append(SubLesseeLink(finding.kind, finding.strength, finding.evasion, finding.reason()))
            if finding.evasion:
                dedupe = hashlib.sha256(f"{sub_lessee_id}|{finding.kind}".encode()).hexdigest()
                exists = conn.execute(select(account_signal.c.id).where(
                    account_signal.c.account_id == reseller_account_id, account_signal.c.kind == "sub_lessee_link",
                    account_signal.c.dedupe_key == dedupe)).first()
                if exists is None:
                    conn.execute(insert(account_signal).values(
                        id=str(uuid.uuid4()), account_id=reseller_account_id, kind="sub_lessee_link", at=now,
                        state="open", dedupe_key=dedupe,
                        detail_json=json.dumps({"sub_lessee_id": sub_lessee_id, "link": finding.kind,
                                                "reason": finding.reason()})))
                    signals += 1
        matches = conn.execute(select(func.count()).select_from(shared_indicator_match).where(
            shared_indicator_match.c.subject_type == "sub_lessee", shared_indicator_match.c.subject_id == sub_lessee_id,
            shared_indicator_match.c.state == "open")).scalar_one()
        return SubLesseeLinking(tuple(links), int(matches), signals)

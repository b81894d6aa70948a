"""The linkage package's side of the signup hook (``verification.signup_links``) (G1).

A strong link (card, bank account, wallet, national ID, phone, normalised e-mail, device) to a flagged
customer asks for review; a weak one (signup address, /24 or /64, hosting ASN) is a note only: a
carrier NAT is shared by strangers, and nothing here ever refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from cloudcip.domain.customer import CustomerRecord
from cloudcip.linkage.service import LinkageService
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
               device_id: str | None) -> None:
        self.linkage.record_signup(conn, customer_id, record, signup_ip=signup_ip, device_id=device_id)

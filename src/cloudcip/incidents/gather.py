"""What an incident report says about an account, gathered from the stored records (G4, C3, A3).

- the account (type, channel, state, dates);
- its access history from the access ledger's rollup: each IP with first and last use, count,
  country and ASN;
- the customer's identifiers, **masked** as an analyst sees them (the report names which identifiers
  the account used without repeating them in full);
- the threat **indicators** drawn from them: each access IP with its window of use, the e-mail
  domain (unless it is a public mailbox provider, which says nothing about the actor), card BINs
  (the first six digits, which PCI DSS lets show), and crypto-wallet addresses.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import Connection, select

from cloudcip import clock
from cloudcip.access.events import bytes_to_ip, ms_to_datetime
from cloudcip.access.schema import access_ip_seen
from cloudcip.crypto.envelope import FieldSealer
from cloudcip.records.masking import mask_email, mask_tail
from cloudcip.storage.schema import account, contact, identity_document, payment_means

MAX_ADDRESSES = 1000

# domains of public mailbox providers: anyone can hold an address there, so the domain is no indicator
PUBLIC_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
    "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com", "pm.me",
    "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.ru", "yandex.ru", "yandex.com", "qq.com", "163.com",
    "126.com", "zoho.com", "tutanota.com", "tuta.io", "fastmail.com", "hey.com", "mail.com", "t-online.de",
    "orange.fr", "free.fr", "laposte.net", "libero.it", "naver.com", "daum.net", "rambler.ru",
})


def account_row(conn: Connection, account_id: str) -> Any:
    return conn.execute(select(account).where(account.c.id == account_id)).first()


def access_history(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    """The account's addresses from the rollup, oldest first (at most ``MAX_ADDRESSES``)."""
    seen = access_ip_seen.c
    rows = conn.execute(
        select(seen.ip, seen.first_seen_ms, seen.last_seen_ms, seen.count, seen.country, seen.asn)
        .where(seen.account_id == account_id).order_by(seen.first_seen_ms).limit(MAX_ADDRESSES)
    ).all()
    return [{"ip": str(bytes_to_ip(bytes(row.ip))),
             "first_seen": clock.iso(ms_to_datetime(int(row.first_seen_ms))),
             "last_seen": clock.iso(ms_to_datetime(int(row.last_seen_ms))),
             "count": int(row._mapping["count"]), "country": row.country,
             "asn": int(row.asn) if row.asn is not None else None} for row in rows]


def identifiers_and_indicators(conn: Connection, sealer: FieldSealer, customer_id: str,
                               access: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The customer's identifiers (masked) and the indicators drawn from them and from ``access``."""
    identifiers: list[dict[str, Any]] = []
    indicators: list[dict[str, Any]] = []
    for item in access:
        version = ipaddress.ip_address(item["ip"]).version
        indicators.append({"type": "ipv4-addr" if version == 4 else "ipv6-addr", "value": item["ip"],
                           "valid_from": item["first_seen"], "valid_until": item["last_seen"]})
    for row in conn.execute(select(contact.c.id, contact.c.kind, contact.c.value_sealed)
                            .where(contact.c.customer_id == customer_id)).all():
        value = sealer.open(bytes(row.value_sealed), table="contact", column="value", row_id=row.id)
        if row.kind == "email":
            identifiers.append({"kind": "email", "display": mask_email(value)})
            domain = value.rpartition("@")[2].casefold()
            if domain and domain not in PUBLIC_MAIL_DOMAINS:
                indicators.append({"type": "email-domain", "value": domain})
        else:
            identifiers.append({"kind": row.kind, "display": mask_tail(value)})
    for pay in conn.execute(select(payment_means.c.id, payment_means.c.type, payment_means.c.display,
                                   payment_means.c.number_sealed, payment_means.c.country)
                            .where(payment_means.c.customer_id == customer_id)).all():
        identifiers.append({"kind": pay.type, "display": pay.display, "country": pay.country})
        if pay.type == "card" and pay.display:
            indicators.append({"type": "card-bin", "value": pay.display[:6]})
        elif pay.type == "crypto_wallet" and pay.number_sealed is not None:
            address = sealer.open(bytes(pay.number_sealed), table="payment_means", column="number", row_id=pay.id)
            indicators.append({"type": "crypto-wallet", "value": address})
    for document in conn.execute(select(identity_document.c.kind, identity_document.c.country)
                                 .where(identity_document.c.customer_id == customer_id)).all():
        identifiers.append({"kind": document.kind, "country": document.country})
    return identifiers, _unique(indicators)


def _unique(indicators: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for item in indicators:
        key = (item["type"], item["value"])
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept

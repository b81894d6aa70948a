"""STIX 2.1 objects built from an incident report (G3, G4).

For each indicator of the report: an ``indicator`` with its STIX pattern and window of validity. For
each access IP: the address (``ipv4-addr``/``ipv6-addr``), an ``observed-data`` with the first and
last access and the count, and a ``sighting`` of the indicator by the provider. The ``incident``
object stands for the report, each indicator is ``related-to`` it, and the provider's ``identity``
creates everything. Ids of indicators and addresses are derived from their values (UUIDv5), so the
same indicator shared twice is one object in two versions, never two objects.

Patterns: ``[ipv4-addr:value = '203.0.113.7']`` (``ISSUBSET 'net/len'`` for a network),
``[email-addr:value LIKE '%@domain']``, ``[x-cloudcip-crypto-wallet:address = '...']`` and
``[x-cloudcip-payment-card:bin = '411111']`` (STIX 2.1 has no object for wallets or card BINs; custom
object types are named ``x-`` as the specification asks).
"""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime, timedelta
from typing import Any

import stix2

from cloudcip import clock
from cloudcip.sharing.tlp import TlpLevel, marking

NAMESPACE = uuid.UUID("5b3c1c3e-7a43-4e0c-9d2b-0c1d1a6f7e21")  # cloudcip's STIX id namespace


def _sid(kind: str, key: str) -> str:
    """A UUIDv4-form id derived from ``key`` (STIX 2.1 asks domain objects for version 4 ids; deriving it
    keeps one indicator one object across exports)."""
    derived = uuid.uuid5(NAMESPACE, f"{kind}|{key}")
    return f"{kind}--{uuid.UUID(bytes=derived.bytes, version=4)}"


DESCRIPTIONS = {
    "ipv4-addr": "IPv4 address from which an account closed for confirmed malicious activity was used, over the"
                 " window of validity",
    "ipv6-addr": "IPv6 address from which an account closed for confirmed malicious activity was used, over the"
                 " window of validity",
    "email-domain": "E-mail domain of an account closed for confirmed malicious activity",
    "crypto-wallet": "Crypto-currency wallet that paid for an account closed for confirmed malicious activity",
    "card-bin": "Issuer (BIN) of a payment card used by an account closed for confirmed malicious activity",
}


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def pattern_for(indicator: dict[str, Any]) -> str:
    """The STIX pattern of one indicator of a report."""
    kind, value = indicator["type"], str(indicator["value"])
    if kind in ("ipv4-addr", "ipv6-addr"):
        if "/" in value:
            return f"[{kind}:value ISSUBSET '{_quote(str(ipaddress.ip_network(value, strict=False)))}']"
        return f"[{kind}:value = '{_quote(value)}']"
    if kind == "email-domain":
        return f"[email-addr:value LIKE '%@{_quote(value)}']"
    if kind == "crypto-wallet":
        return f"[x-cloudcip-crypto-wallet:address = '{_quote(value)}']"
    if kind == "card-bin":
        return f"[x-cloudcip-payment-card:bin = '{_quote(value)}']"
    raise ValueError(f"no STIX pattern for indicator type {kind}")


def provider_identity(name: str) -> stix2.Identity:
    """The provider that creates and shares the objects (an organisation, never a person); its name is
    public, so it is marked TLP:CLEAR whatever it travels with."""
    return stix2.Identity(id=_sid("identity", name), name=name, identity_class="organization",
                          object_marking_refs=[marking("clear").id],
                          sectors=["technology"], created="2020-01-01T00:00:00.000Z",
                          modified="2020-01-01T00:00:00.000Z")


def _window(indicator: dict[str, Any], created: datetime) -> tuple[datetime, datetime | None]:
    start = clock.parse_instant(indicator["valid_from"], "valid_from") if indicator.get("valid_from") else created
    end = clock.parse_instant(indicator["valid_until"], "valid_until") if indicator.get("valid_until") else None
    if end is not None and end <= start:
        end = start + timedelta(seconds=1)
    return start, end


def incident_objects(content: dict[str, Any], level: TlpLevel, provider: stix2.Identity,
                     now: datetime) -> list[stix2.base._STIXBase]:
    """The STIX objects of one incident report at one TLP level (before scrubbing)."""
    tlp = marking(level)
    common: dict[str, Any] = {"created_by_ref": provider.id, "object_marking_refs": [tlp.id]}
    created = clock.parse_instant(content["created_at"], "created_at")
    modified = max(now, created)
    incident = stix2.Incident(id=f"incident--{content['id']}", name=f"cloudcip incident {content['id']}",
                              description=content["summary"], created=created, modified=modified, **common)
    objects: list[stix2.base._STIXBase] = [tlp, provider, incident]
    if level != "clear":
        objects.insert(0, marking("clear"))
    access = {item["ip"]: item for item in content.get("access", [])}
    for item in content.get("indicators", []):
        start, end = _window(item, created)
        indicator = stix2.Indicator(
            id=_sid("indicator", f"{item['type']}|{item['value']}"),
            name=f"{item['type']} seen in a confirmed incident", description=DESCRIPTIONS[item["type"]],
            indicator_types=["malicious-activity"], pattern=pattern_for(item), pattern_type="stix",
            valid_from=start, **({"valid_until": end} if end is not None else {}), created=created,
            modified=modified, **common)
        objects.append(indicator)
        objects.append(stix2.Relationship(id=_sid("relationship", f"{indicator.id}|{incident.id}"),
                                          relationship_type="related-to", source_ref=indicator.id,
                                          target_ref=incident.id, created=created, modified=modified, **common))
        seen = access.get(str(item["value"]))
        if seen is not None and item["type"] in ("ipv4-addr", "ipv6-addr"):
            address_type = stix2.IPv4Address if item["type"] == "ipv4-addr" else stix2.IPv6Address
            address = address_type(value=seen["ip"], object_marking_refs=[tlp.id])
            first = clock.parse_instant(seen["first_seen"], "first_seen")
            last = max(clock.parse_instant(seen["last_seen"], "last_seen"), first)
            observed = stix2.ObservedData(id=_sid("observed-data", f"{content['id']}|{seen['ip']}"),
                                          first_observed=first, last_observed=last,
                                          number_observed=max(1, int(seen["count"])), object_refs=[address.id],
                                          created=created, modified=modified, **common)
            sighting = stix2.Sighting(id=_sid("sighting", f"{content['id']}|{indicator.id}"),
                                      sighting_of_ref=indicator.id, observed_data_refs=[observed.id],
                                      where_sighted_refs=[provider.id], first_seen=first, last_seen=last,
                                      count=max(1, int(seen["count"])), created=created, modified=modified,
                                      **common)
            objects += [address, observed, sighting]
    return objects

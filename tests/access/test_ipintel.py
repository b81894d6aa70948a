"""Offline IP intelligence (C4): registered country (iptocc), imported ASN / Tor exit / hosting tables,
versioned and idempotent, most-specific range wins; bad lines refused with their numbers."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from cloudcip.access.events import AccessBatchError, ip_to_bytes
from cloudcip.access.ipintel import IpIntel, RangeTable, import_dataset, list_datasets
from cloudcip.errors import InvalidInput
from cloudcip.storage.database import Database


def b(ip: str) -> bytes:
    return ip_to_bytes(ipaddress.ip_address(ip))


def test_registered_country_from_iptocc() -> None:
    intel = IpIntel()
    assert intel.country(b("8.8.8.8")) == "US"
    assert intel.country(b("1.1.1.1")) == "AU"
    assert intel.country(b("10.0.0.1")) is None
    assert IpIntel(use_iptocc=False).country(b("8.8.8.8")) is None


def test_range_table_prefers_the_most_specific_range() -> None:
    table = RangeTable([(b("10.0.0.0"), b("10.255.255.255"), "wide"), (b("10.1.0.0"), b("10.1.255.255"), "narrow"),
                        (b("10.3.0.0"), b("10.3.0.255"), "other")])
    assert table.find(b("10.1.2.3")) == "narrow"
    assert table.find(b("10.2.0.1")) == "wide"
    assert table.find(b("10.3.0.9")) == "other"
    assert table.find(b("11.0.0.0")) is None


def test_imported_tables_are_versioned_and_used(sqlite_db: Database, tmp_path: Path) -> None:
    asn = tmp_path / "asn.csv"
    asn.write_text("range_start,range_end,asn,org\n192.0.2.0,192.0.2.255,64500,Example Hosting\n"
                   "2001:db8::/32,AS64501,Example v6\n")
    tor = tmp_path / "tor.txt"
    tor.write_text("# tor exits\n198.51.100.7\nExitAddress 198.51.100.8 2026-01-01 00:00:00\n")
    hosting = tmp_path / "hosting.txt"
    hosting.write_text("203.0.113.0/24 vpn-provider\n2001:db8:ffff::/48,cloud\n")
    first = import_dataset(sqlite_db, "asn", asn)
    assert (first.rows, first.already_imported) == (2, False)
    assert import_dataset(sqlite_db, "asn", asn).already_imported
    import_dataset(sqlite_db, "tor_exit", tor)
    import_dataset(sqlite_db, "hosting", hosting)
    intel = IpIntel.load(sqlite_db)
    facts = intel.facts(b("192.0.2.44"))
    assert (facts.asn, facts.tor_exit, facts.hosting) == (64500, False, False)
    assert intel.facts(b("2001:db8:ffff::1")).asn == 64501 and intel.facts(b("2001:db8:ffff::1")).hosting
    assert intel.facts(b("198.51.100.8")).tor_exit and not intel.facts(b("198.51.100.9")).tor_exit
    assert intel.facts(b("203.0.113.9")).hosting
    asn.write_text("192.0.2.0/24,64999\n")
    newer = import_dataset(sqlite_db, "asn", asn)
    assert newer.dataset_id > first.dataset_id
    assert IpIntel.load(sqlite_db).facts(b("192.0.2.44")).asn == 64999
    assert IpIntel.load(sqlite_db).facts(b("2001:db8::1")).asn is None  # the newest version is in force
    assert [d["kind"] for d in list_datasets(sqlite_db)] == ["asn", "hosting", "tor_exit", "asn"]


def test_bad_dataset_lines_are_listed(sqlite_db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("198.51.100.7\nnot-an-ip\n198.51.100.999\n")
    with pytest.raises(AccessBatchError) as caught:
        import_dataset(sqlite_db, "tor_exit", bad)
    assert [n for n, _ in caught.value.errors] == [2, 3]
    assert list_datasets(sqlite_db) == []
    with pytest.raises(InvalidInput, match="unknown dataset kind"):
        import_dataset(sqlite_db, "geo", bad)


def test_address_text_names_the_same_address() -> None:
    """The fast text form used for lookups (``inet_ntop``) parses back to the same address."""
    import ipaddress

    from cloudcip.access.events import ip_to_bytes, parse_ip_bytes
    from cloudcip.access.ipintel import _address_text

    for text in ("192.0.2.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::", "::1", "fe80::1:2:3:4",
                 "2001:db8:0:0:1:0:0:1", "::ffff:198.51.100.7", "64:ff9b::c000:201"):
        raw = parse_ip_bytes(text)
        assert ip_to_bytes(ipaddress.ip_address(_address_text(raw))) == raw


def test_country_only_intel_gives_the_same_facts_everywhere() -> None:
    from cloudcip.access.events import parse_ip_bytes
    from cloudcip.access.ipintel import IpIntel, RangeTable

    plain = IpIntel()
    assert plain.country_only
    assert {(f.asn, f.tor_exit, f.hosting) for f in map(plain.facts, (bytes(16), parse_ip_bytes("8.8.8.8")))} == {
        (None, False, False)}
    assert not IpIntel(tor_exits=frozenset({parse_ip_bytes("192.0.2.1")})).country_only
    assert not IpIntel(asn_ranges=RangeTable([])).country_only

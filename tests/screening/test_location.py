"""Location from all evidence (D2), with subdivisions and sanctioned regions for measures (D1, D4)."""

from __future__ import annotations

import inspect
from dataclasses import fields

import pytest

from cloudcip.screening import location
from cloudcip.screening.location import (
    EVIDENCE_STRENGTH,
    Jurisdiction,
    LocationEvidence,
    decide_location,
    locate,
    primary_location,
)

# public addresses whose registered country is stable: Google (US), APNIC/Cloudflare research (AU),
# and the German research network DFN (DE)
US_IP = "8.8.8.8"
AU_IP = "1.1.1.1"
US_IPV6 = "2001:4860:4860::8888"
DE_IBAN = "DE89 3704 0044 0532 0130 00"
GB_IBAN = "GB82 WEST 1234 5698 7654 32"


def by_code(found: list[Jurisdiction]) -> dict[str, Jurisdiction]:
    return {j.code: j for j in found}


# (evidence, {code: (kind, strength, evidence fields)} expected exactly)
LOCATE_CASES: list[tuple[str, LocationEvidence, dict[str, tuple[str, str, tuple[str, ...]]]]] = [
    ("nothing", LocationEvidence(), {}),
    (
        "address only",
        LocationEvidence(address_country="fr"),
        {"FR": ("country", "strong", ("address_country",))},
    ),
    (
        "address with subdivision",
        LocationEvidence(address_country="US", address_subdivision="CA"),
        {
            "US": ("country", "strong", ("address_country",)),
            "US-CA": ("subdivision", "strong", ("address_subdivision",)),
        },
    ),
    (
        "Crimea address gives the subdivision and the named region",
        LocationEvidence(address_country="UA", address_subdivision="UA-43"),
        {
            "UA": ("country", "strong", ("address_country",)),
            "UA-43": ("subdivision", "strong", ("address_subdivision",)),
            "crimea": ("region", "strong", ("address_subdivision",)),
        },
    ),
    (
        "Sevastopol is Crimea too",
        LocationEvidence(address_country="UA", address_subdivision="40"),
        {
            "UA": ("country", "strong", ("address_country",)),
            "UA-40": ("subdivision", "strong", ("address_subdivision",)),
            "crimea": ("region", "strong", ("address_subdivision",)),
        },
    ),
    (
        "Donetsk",
        LocationEvidence(address_country="UA", address_subdivision="UA-14"),
        {
            "UA": ("country", "strong", ("address_country",)),
            "UA-14": ("subdivision", "strong", ("address_subdivision",)),
            "dnr": ("region", "strong", ("address_subdivision",)),
        },
    ),
    (
        "Luhansk",
        LocationEvidence(address_country="UA", address_subdivision="09"),
        {
            "UA": ("country", "strong", ("address_country",)),
            "UA-09": ("subdivision", "strong", ("address_subdivision",)),
            "lnr": ("region", "strong", ("address_subdivision",)),
        },
    ),
    (
        "Kyiv is no sanctioned region",
        LocationEvidence(address_country="UA", address_subdivision="UA-30"),
        {
            "UA": ("country", "strong", ("address_country",)),
            "UA-30": ("subdivision", "strong", ("address_subdivision",)),
        },
    ),
    (
        "a full subdivision code alone names its country",
        LocationEvidence(address_subdivision="UA-43"),
        {
            "UA": ("country", "strong", ("address_subdivision",)),
            "UA-43": ("subdivision", "strong", ("address_subdivision",)),
            "crimea": ("region", "strong", ("address_subdivision",)),
        },
    ),
    (
        "a subdivision of another country is ignored",
        LocationEvidence(address_country="FR", address_subdivision="UA-43"),
        {"FR": ("country", "strong", ("address_country",))},
    ),
    (
        "documents and nationalities, alpha-3 accepted",
        LocationEvidence(document_countries=["DEU", "fr"], nationalities=["DE"]),
        {
            "DE": ("country", "strong", ("document_countries", "nationalities")),
            "FR": ("country", "strong", ("document_countries",)),
        },
    ),
    (
        "phone country",
        LocationEvidence(phone_number="+1 202 555 0100"),
        {"US": ("country", "medium", ("phone_number",))},
    ),
    (
        "Canadian number inside NANP",
        LocationEvidence(phone_number="+1 416 555 0199"),
        {"CA": ("country", "medium", ("phone_number",))},
    ),
    (
        "Crimean number in Russian numbering: Crimea (in Ukraine) by the prefix, not Russia by the plan",
        LocationEvidence(phone_number="+7 978 123 45 67"),
        {
            "UA": ("country", "medium", ("phone_number",)),
            "UA-43": ("subdivision", "medium", ("phone_number",)),
            "crimea": ("region", "medium", ("phone_number",)),
        },
    ),
    (
        "Donetsk fixed line",
        LocationEvidence(phone_number="+380 62 123 4567"),
        {
            "UA": ("country", "medium", ("phone_number",)),
            "UA-14": ("subdivision", "medium", ("phone_number",)),
            "dnr": ("region", "medium", ("phone_number",)),
        },
    ),
    (
        "Kyiv fixed line is Ukraine only",
        LocationEvidence(phone_number="+380 44 123 4567"),
        {"UA": ("country", "medium", ("phone_number",))},
    ),
    (
        "non-geographic and unparseable numbers point nowhere",
        LocationEvidence(phone_number="+800 1234 5678"),
        {},
    ),
    ("garbage phone", LocationEvidence(phone_number="call me"), {}),
    (
        "payment and IBAN",
        LocationEvidence(card_issuer_countries=["GB", "GB"], ibans=[DE_IBAN, GB_IBAN, "DE00 0000"]),
        {
            "GB": ("country", "medium", ("card_issuer_countries", "ibans")),
            "DE": ("country", "medium", ("ibans",)),
        },
    ),
    (
        "IPs are weak; private and malformed ones point nowhere",
        LocationEvidence(signup_ip=US_IP, access_ips=[AU_IP, US_IPV6, "10.0.0.1", "::1", "not-an-ip"]),
        {
            "US": ("country", "weak", ("access_ips", "signup_ip")),
            "AU": ("country", "weak", ("access_ips",)),
        },
    ),
    (
        "unknown country codes are ignored",
        LocationEvidence(address_country="ZZ", nationalities=["QQQ", ""], card_issuer_countries=["U1"]),
        {},
    ),
    (
        "Kosovo's user-assigned code is kept",
        LocationEvidence(nationalities=["XK"]),
        {"XK": ("country", "weak", ("nationalities",))},
    ),
    (
        "a country's strength is its strongest item; fields listed strongest first",
        LocationEvidence(address_country="US", phone_number="+12025550100", signup_ip=US_IP),
        {"US": ("country", "strong", ("address_country", "phone_number", "signup_ip"))},
    ),
]


@pytest.mark.parametrize(("label", "evidence", "expected"), LOCATE_CASES, ids=[c[0] for c in LOCATE_CASES])
def test_locate(label: str, evidence: LocationEvidence, expected: dict[str, tuple[str, str, tuple[str, ...]]]) -> None:
    found = locate(evidence)
    assert {j.code: (j.kind, j.strength, j.evidence) for j in found} == expected
    assert len(found) == len({j.code for j in found})


def test_items_count_every_piece_of_evidence_and_countries_of_subdivisions() -> None:
    found = by_code(
        locate(
            LocationEvidence(
                address_country="UA",
                address_subdivision="43",
                phone_number="+7 978 123 45 67",
                access_ips=[US_IP, "8.8.4.4", AU_IP],
            )
        )
    )
    assert found["US"].items == 2
    assert found["crimea"].items == 2
    assert found["crimea"].country == "UA"
    assert found["UA-43"].country == "UA"
    assert "RU" not in found  # the Crimean prefix places the Russian-numbered phone in UA-43


def test_results_are_ordered_strongest_first() -> None:
    found = locate(
        LocationEvidence(signup_ip=AU_IP, card_issuer_countries=["DE"], nationalities=["FR"], address_country="US")
    )
    assert [j.code for j in found] == ["US", "DE", "AU", "FR"]
    assert [j.strength for j in found] == ["strong", "medium", "weak", "weak"]


def test_no_values_leak_into_the_result() -> None:
    evidence = LocationEvidence(
        address_country="UA",
        address_subdivision="43",
        phone_number="+380652123456",
        signup_ip=US_IP,
        access_ips=[AU_IP],
        ibans=[DE_IBAN],
        card_issuer_countries=["GB"],
        document_countries=["FR"],
        nationalities=["RU"],
    )
    field_names = {f.name for f in fields(LocationEvidence)}
    for jurisdiction in locate(evidence):
        assert set(jurisdiction.evidence) <= field_names
        assert set(jurisdiction.evidence) <= set(EVIDENCE_STRENGTH)
        text = repr(jurisdiction)
        for value in ("380652123456", US_IP, AU_IP, "3704", "DE89"):
            assert value not in text


def test_a_single_string_where_a_list_is_expected_is_one_item() -> None:
    found = locate(LocationEvidence(nationalities="DE"))
    assert [j.code for j in found] == ["DE"]


PRIMARY_CASES: list[tuple[str, LocationEvidence, str | None]] = [
    ("no evidence", LocationEvidence(), None),
    ("IP alone never decides", LocationEvidence(signup_ip=US_IP, access_ips=[US_IP, AU_IP]), None),
    ("the address decides against IP history", LocationEvidence(address_country="DE", access_ips=[US_IP] * 5), "DE"),
    (
        "the address outweighs phone and payment",
        LocationEvidence(address_country="FR", phone_number="+12025550100", card_issuer_countries=["US"]),
        "FR",
    ),
    (
        "document, nationality and phone together outweigh a bare address",
        LocationEvidence(
            address_country="US", document_countries=["IR"], nationalities=["IR"], phone_number="+98 21 2222 3333"
        ),
        "IR",
    ),
    (
        "on a tie the address wins",
        LocationEvidence(address_country="US", document_countries=["CA"], nationalities=["CA"]),
        "US",
    ),
    (
        "without an address, the phone plus payment beat a lone IBAN",
        LocationEvidence(phone_number="+442079460000", card_issuer_countries=["GB"], ibans=[DE_IBAN]),
        "GB",
    ),
    (
        "an IP adds its one point to equal medium evidence",
        LocationEvidence(card_issuer_countries=["AU"], ibans=[DE_IBAN], signup_ip=AU_IP),
        "AU",
    ),
    ("medium evidence alone can be primary", LocationEvidence(ibans=[GB_IBAN]), "GB"),
    (
        "a Crimean address places the person in Ukraine",
        LocationEvidence(address_country="UA", address_subdivision="43", phone_number="+7 978 123 45 67"),
        "UA",
    ),
]


@pytest.mark.parametrize(("label", "evidence", "expected"), PRIMARY_CASES, ids=[c[0] for c in PRIMARY_CASES])
def test_primary_location(label: str, evidence: LocationEvidence, expected: str | None) -> None:
    assert primary_location(locate(evidence)) == expected


def test_primary_location_ignores_subdivisions_and_regions() -> None:
    only_regions = [j for j in locate(LocationEvidence(address_subdivision="UA-43")) if j.kind != "country"]
    assert {j.code for j in only_regions} == {"UA-43", "crimea"}
    assert primary_location(only_regions) is None


# evidence of countries and subdivisions only, whose decision ``decide_location`` remembers: as lists,
# tuples or a bare string, in any case, alpha-3, unknown codes, subdivisions short and full
REMEMBERED_CASES: list[LocationEvidence] = [
    LocationEvidence(address_country="DE", document_countries=["DE"], nationalities=["DE"]),
    LocationEvidence(address_country="de", document_countries=("DEU",), nationalities="DE"),
    LocationEvidence(address_country="US", address_subdivision="CA", document_countries=["US", "MX"],
                     nationalities=["MX"]),
    LocationEvidence(address_country="UA", address_subdivision="43", nationalities=["RU"]),
    LocationEvidence(address_subdivision="UA-14", document_countries=["UA"]),
    LocationEvidence(address_country="FR", registration_country="LU", card_issuer_countries=["BE", "BE"]),
    LocationEvidence(address_country="XX", document_countries=["ZZ", ""], nationalities=["IR"]),
    LocationEvidence(nationalities=["IR", "IR"]),
    LocationEvidence(),
]


@pytest.mark.parametrize("evidence", REMEMBERED_CASES)
def test_a_remembered_decision_is_the_decision(evidence: LocationEvidence) -> None:
    """The remembered decision of country evidence equals the one decided afresh, however the evidence
    is written, the first time and after."""
    afresh = location._decided(evidence)
    assert decide_location(evidence) == afresh
    assert decide_location(evidence) == afresh
    assert decide_location(evidence).as_json() == afresh.as_json()


def test_every_evidence_field_is_in_the_remembered_key_or_decided_afresh() -> None:
    """A field added to ``LocationEvidence`` must be placed: in the key of the remembered decision, or
    among the fields whose presence has the decision taken afresh (else it would be ignored)."""
    assert set(location.DECIDED_AFRESH).isdisjoint(location.REMEMBERED_BY)
    assert {f.name for f in fields(LocationEvidence)} == set(location.DECIDED_AFRESH) | set(location.REMEMBERED_BY)
    assert list(inspect.signature(location._decided_by_countries.__wrapped__).parameters) == \
        list(location.REMEMBERED_BY)

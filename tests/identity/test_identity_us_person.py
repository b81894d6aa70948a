"""U.S. person or foreign person, with the basis recorded; undetermined counts as foreign (A2)."""

from __future__ import annotations

from datetime import date

import pytest

from cloudcip.identity import (
    CitizenshipEvidence,
    LocationIndicator,
    LocationPolicy,
    PersonFacts,
    check_digit,
    determine_person_status,
    parse_mrz,
)

US_ADDRESS = LocationIndicator("address", "US")
US_PHONE = LocationIndicator("phone", "US")
US_IP = LocationIndicator("ip", "US")
US_CARD = LocationIndicator("payment", "US")


def _us_passport_mrz() -> list[str]:
    number, birth, expiry = "987654321", "850615", "320101"
    second = f"{number}{check_digit(number)}USA{birth}{check_digit(birth)}F{expiry}{check_digit(expiry)}"
    second += "<" * 14 + "0"
    second += str(check_digit(second[0:10] + second[13:20] + second[21:43]))
    return ["P<USAROE<<JANE".ljust(44, "<"), second]


def test_verified_us_passport_mrz_makes_a_citizen() -> None:
    """A2: a U.S. passport MRZ (check digits verified) is citizenship evidence, whatever the location."""
    zone = parse_mrz(_us_passport_mrz(), "documents.0.mrz", date(2026, 1, 1))
    evidence = CitizenshipEvidence.from_mrz(zone)
    assert evidence.kind == "us_passport_mrz" and evidence.verified
    facts = PersonFacts(
        "individual",
        nationality="US",
        citizenship_evidence=[evidence],
        address_country="FR",
        location_evidence=[LocationIndicator("ip", "FR")],
    )
    status = determine_person_status(facts)
    assert (status.status, status.basis) == ("us_person", "us_citizen")
    assert status.evidence == ["citizenship:us_passport_mrz:verified"]
    assert status.is_us_person


def test_foreign_passport_mrz_is_foreign_evidence() -> None:
    """A2: the ICAO specimen (Utopia) passport is foreign-document evidence, not citizenship."""
    zone = parse_mrz(
        ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"],
        "documents.0.mrz",
        date(2010, 1, 1),
    )
    evidence = CitizenshipEvidence.from_mrz(zone)
    assert evidence.kind == "foreign_passport" and evidence.country == "UTO"
    status = determine_person_status(PersonFacts("individual", citizenship_evidence=[evidence]))
    assert (status.status, status.basis) == ("foreign_person", "foreign")


def test_permanent_resident() -> None:
    """A2: a verified permanent-resident card makes a U.S. person, basis permanent_resident."""
    facts = PersonFacts(
        "individual", nationality="IN", citizenship_evidence=[CitizenshipEvidence("permanent_resident_card", True)]
    )
    status = determine_person_status(facts)
    assert (status.status, status.basis) == ("us_person", "permanent_resident")


def test_unverified_documents_do_not_decide() -> None:
    """A2: a claimed but unverified U.S. passport leaves the person undetermined, so foreign."""
    facts = PersonFacts("individual", citizenship_evidence=[CitizenshipEvidence("us_passport", False)])
    status = determine_person_status(facts)
    assert (status.status, status.basis) == ("foreign_person", "undetermined")
    assert "unverified" in status.explanation


def test_foreign_national_located_in_us_is_a_us_person() -> None:
    """A2: a foreign national inside the U.S. (U.S. address + U.S. phone) is a U.S. person."""
    facts = PersonFacts("individual", nationality="DE", address_country="US", location_evidence=[US_PHONE])
    status = determine_person_status(facts)
    assert (status.status, status.basis) == ("us_person", "located_in_us")
    assert status.evidence == ["location:address:US", "location:phone:US"]


@pytest.mark.parametrize(
    "evidence",
    [
        [US_IP],
        [US_ADDRESS],
        [US_ADDRESS, US_IP],
        [US_IP, US_PHONE, US_CARD],
        [US_ADDRESS, LocationIndicator("address", "US")],
        [US_ADDRESS, LocationIndicator("phone", "CA")],
    ],
)
def test_location_evidence_short_of_the_default_policy(evidence: list[LocationIndicator]) -> None:
    """A2: IP alone never settles location; an address needs a corroborating non-IP signal."""
    status = determine_person_status(PersonFacts("individual", location_evidence=evidence))
    assert status.status == "foreign_person"
    assert status.basis == "undetermined"
    assert "does not meet the location policy" in status.explanation


def test_policy_can_count_ip_as_corroboration_but_never_as_anchor() -> None:
    """A2: a provider may let IP corroborate a U.S. address; IP can never be the anchor."""
    lenient = LocationPolicy(ip_may_corroborate=True)
    status = determine_person_status(PersonFacts("individual", location_evidence=[US_ADDRESS, US_IP]), lenient)
    assert status.basis == "located_in_us"
    with pytest.raises(ValueError, match="IP location alone"):
        LocationPolicy(anchor_types=frozenset({"ip"}))


def test_policy_requiring_verified_evidence() -> None:
    """A2: with require_verified, only verified signals count."""
    strict = LocationPolicy(require_verified=True, min_corroborating=1)
    unverified = PersonFacts("individual", address_country="US", location_evidence=[US_PHONE])
    assert determine_person_status(unverified, strict).basis == "undetermined"
    verified = PersonFacts(
        "individual",
        location_evidence=[
            LocationIndicator("address", "US", verified=True),
            LocationIndicator("payment", "US", verified=True),
        ],
    )
    assert determine_person_status(verified, strict).evidence == [
        "location:address:US:verified",
        "location:payment:US:verified",
    ]


def test_us_entity_and_its_evidence() -> None:
    """A2: an entity organised in a U.S. state is a U.S. person; the EIN is recorded as support."""
    facts = PersonFacts("entity", ein_valid=True, formation_country="US", formation_state="US-DE", address_country="IE")
    status = determine_person_status(facts)
    assert (status.status, status.basis) == ("us_person", "us_entity")
    assert status.evidence == ["entity:formed_in:US-DE", "entity:ein_valid"]


def test_foreign_subsidiary_of_us_company_is_foreign() -> None:
    """A2: a foreign subsidiary of a U.S. company is foreign, even with an EIN."""
    facts = PersonFacts("entity", ein_valid=True, formation_country="GB", parent_country="US", address_country="GB")
    status = determine_person_status(facts)
    assert (status.status, status.basis) == ("foreign_person", "foreign")
    assert "entity:formed_in:GB" in status.evidence
    assert "foreign subsidiary of a U.S. company" in status.explanation
    assert "EIN alone" in status.explanation


def test_foreign_entity_with_us_premises_is_located_in_us() -> None:
    """A2: any person located in the U.S. is a U.S. person, entities included."""
    facts = PersonFacts("entity", formation_country="JP", location_evidence=[US_ADDRESS, US_CARD])
    assert determine_person_status(facts).basis == "located_in_us"


def test_nothing_known_is_undetermined_and_foreign() -> None:
    """A2: with no facts the status is undetermined, which counts as foreign."""
    for kind in ("individual", "entity"):
        status = determine_person_status(PersonFacts(kind))
        assert (status.status, status.basis, status.evidence) == ("foreign_person", "undetermined", [])
        assert "treated as a foreign person" in status.explanation


def test_declared_foreign_nationality_is_basis_foreign() -> None:
    """A2: a declared foreign nationality or foreign address gives basis foreign."""
    status = determine_person_status(PersonFacts("individual", nationality="br", address_country="PT"))
    assert status.basis == "foreign" and status.evidence == ["nationality:BR", "location:address:PT"]

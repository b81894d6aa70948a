"""National identification numbers by issuing country, EIN and entity registration numbers (A3, A4)."""

from __future__ import annotations

import pytest

from cloudcip.identity import (
    NATIONAL_ID_SCHEMES,
    REGISTRATION_SCHEMES,
    IdentityFieldError,
    validate_ein,
    validate_national_id,
    validate_registration,
)
from cloudcip.identity.national_id import SCHEMES_WITHOUT_CHECK_DIGIT

FIELD = "national_id.number"

# (country, number as a customer might type it, scheme expected to accept it). Public test numbers
# from python-stdnum's own documentation and the issuing authorities' published examples.
VALID = [
    ("AT", "1237 010180", "at.vnr"),
    ("BE", "85 07 30 033 28", "be.nn"),
    ("BE", "98 47 28 997 65", "be.bis"),
    ("BG", "8032056031", "bg.egn"),
    ("BR", "390.533.447-05", "br.cpf"),
    ("CA", "123-456-782", "ca.sin"),
    ("CH", "756.9217.0769.85", "ch.ssn"),
    ("CL", "76086428-5", "cl.rut"),
    ("CN", "360426199101010071", "cn.ric"),
    ("CZ", "710319/2745", "cz.rc"),
    ("DE", "36 574 261 809", "de.idnr"),
    ("DK", "211062-5629", "dk.cpr"),
    ("DO", "00113918205", "do.cedula"),
    ("EC", "171430710-3", "ec.ci"),
    ("EE", "36805280109", "ee.ik"),
    ("ES", "54362315-K", "es.dni"),
    ("ES", "x-2482300w", "es.nie"),
    ("FI", "131052-308T", "fi.hetu"),
    ("FR", "2 95 10 99 126 111 93", "fr.nir"),
    ("GR", "01013099997", "gr.amka"),
    ("HR", "33392005961", "hr.oib"),
    ("IE", "6433435F", "ie.pps"),
    ("IL", "3933742-3", "il.idnr"),
    ("IN", "234123412346", "in_.aadhaar"),
    ("IS", "120174-3399", "is_.kennitala"),
    ("IT", "RCCMNL83S18D969H", "it.codicefiscale"),
    ("JP", "6214 9832 0257", "jp.in_"),
    ("KR", "971013-9019902", "kr.rrn"),
    ("LT", "33309240064", "lt.asmens"),
    ("MX", "BOXW310820HNERXN09", "mx.curp"),
    ("NL", "1112.22.333", "nl.bsn"),
    ("NO", "151086 95088", "no.fodselsnummer"),
    ("PL", "44051401359", "pl.pesel"),
    ("PT", "00000000 0 ZZ4", "pt.cc"),
    ("RO", "1630615123457", "ro.cnp"),
    ("SE", "880320-0016", "se.personnummer"),
    ("SI", "0101006500006", "si.emso"),
    ("TH", "3100600445635", "th.pin"),
    ("TR", "17291716060", "tr.tckimlik"),
    ("UA", "1759013776", "ua.rntrc"),
    ("ZA", "7503305044089", "za.idnr"),
]

# The same numbers with one check digit wrong.
CHECKSUM_FAILS = [
    ("AT", "2237 010180"),
    ("BE", "85 07 30 033 29"),
    ("BR", "231.002.999-00"),
    ("CA", "123-456-783"),
    ("CL", "12531909-3"),
    ("CN", "360426199101010072"),
    ("DE", "36574261890"),
    ("EE", "36805280108"),
    ("ES", "54362315Z"),
    ("FI", "131052-308U"),
    ("FR", "295109912611199"),
    ("IN", "234123412347"),
    ("IT", "RCCMNL83S18D969A"),
    ("MX", "BOXW310820HNERXN08"),
    ("NL", "1112.52.333"),
    ("NO", "15108695077"),
    ("PL", "44051401358"),
    ("RO", "1630615123458"),
    ("SE", "880320-0018"),
    ("TR", "17291716050"),
    ("ZA", "8503305044089"),
]


@pytest.mark.parametrize(("country", "number", "scheme"), VALID)
def test_valid_national_ids_pass_with_their_scheme(country: str, number: str, scheme: str) -> None:
    """A4: a real-format national ID passes under the scheme of its issuing country."""
    check = validate_national_id(country, number, FIELD)
    assert check.scheme == scheme
    assert check.checksum_verified is (scheme not in SCHEMES_WITHOUT_CHECK_DIGIT)
    assert check.normalized == check.normalized.upper()
    assert " " not in check.normalized
    if scheme not in ("fi.hetu", "se.personnummer"):  # there the sign carries the century
        assert "-" not in check.normalized
    assert check.flags == ([] if check.checksum_verified else ["no_check_digit"])


@pytest.mark.parametrize(("country", "number"), CHECKSUM_FAILS)
def test_wrong_check_digit_is_named_with_country_and_field(country: str, number: str) -> None:
    """A4: a wrong check digit fails, and the message names the field, country and 'check digit'."""
    with pytest.raises(IdentityFieldError) as caught:
        validate_national_id(country, number, FIELD)
    [problem] = caught.value.problems
    assert problem.field == FIELD
    assert "check digit fails" in problem.reason and country in problem.reason
    message = str(caught.value)
    assert number not in message
    assert number.replace(" ", "").replace("-", "").replace(".", "") not in message


def test_de_message_matches_the_documented_shape() -> None:
    """A4: the German example message reads as documented."""
    with pytest.raises(IdentityFieldError, match=r"^national_id\.number: check digit fails for DE IdNr$"):
        validate_national_id("DE", "36574261890", FIELD)


def test_normalised_forms_agree_across_spellings() -> None:
    """A4/B2: the same number typed differently normalises to one blind-indexable form."""
    forms = {validate_national_id("de", spelled, FIELD).normalized for spelled in ("36574261809", "36 574 261 809")}
    assert forms == {"36574261809"}
    assert validate_national_id("ES", "x-2482300w", FIELD).normalized == "X2482300W"


def test_birth_date_is_extracted_where_the_scheme_encodes_it() -> None:
    """A4: schemes that encode the birth date expose it, for cross-checking the declared one."""
    check = validate_national_id("SE", "880320-0016", FIELD)
    assert check.birth_date is not None and check.birth_date.isoformat() == "1988-03-20"
    assert validate_national_id("DE", "36574261809", FIELD).birth_date is None


def test_country_without_scheme_gets_format_check_and_flag() -> None:
    """A3: a country with no stdnum personal-ID module is format-checked and flagged."""
    assert "GB" not in NATIONAL_ID_SCHEMES
    check = validate_national_id("GB", "AB 12-34-56 C", FIELD)
    assert check.normalized == "AB123456C"
    assert check.scheme is None and not check.checksum_verified
    assert check.flags == ["no_checksum_scheme"]
    for bad in ("A1", "A" * 21, "AB#1234"):
        with pytest.raises(IdentityFieldError, match="3 to 20 letters or digits"):
            validate_national_id("GB", bad, FIELD)


def test_any_scheme_of_the_country_suffices_but_an_explicit_scheme_is_strict() -> None:
    """A4: a Spanish NIE passes for ES; asking for the DNI scheme only rejects it."""
    assert validate_national_id("ES", "X2482300W", FIELD).scheme == "es.nie"
    with pytest.raises(IdentityFieldError):
        validate_national_id("ES", "X2482300W", FIELD, scheme="es.dni")
    with pytest.raises(IdentityFieldError, match="scheme is not one cloudcip knows"):
        validate_national_id("ES", "X2482300W", FIELD, scheme="de.idnr")


def test_bad_country_is_reported_on_the_sibling_country_field() -> None:
    """A3: an unknown issuing country names the country field, not the number."""
    with pytest.raises(IdentityFieldError) as caught:
        validate_national_id("ZZ", "12345", "beneficial_owners.1.national_id.number")
    assert caught.value.problems[0].field == "beneficial_owners.1.national_id.country"


def test_every_mapped_scheme_exists_in_installed_stdnum() -> None:
    """A4: the scheme tables name only modules python-stdnum really ships."""
    import importlib

    for table in (NATIONAL_ID_SCHEMES, REGISTRATION_SCHEMES):
        for schemes in table.values():
            for scheme in schemes:
                module = importlib.import_module(f"stdnum.{scheme}")
                assert callable(module.validate)


@pytest.mark.parametrize("number", ["04-1234567", "041234567", "91-1144442"])
def test_ein_valid(number: str) -> None:
    """A4: EINs with an IRS-assigned prefix pass, normalised to nine digits, flagged as without check digit."""
    check = validate_ein(number, "ein")
    assert check.normalized == number.replace("-", "")
    assert check.scheme == "us.ein" and check.flags == ["no_check_digit"]


@pytest.mark.parametrize(("number", "reason"), [("07-1234567", "IRS-assigned prefix"), ("12345", "nine digits")])
def test_ein_invalid(number: str, reason: str) -> None:
    """A4: an EIN with an unassigned prefix or the wrong length fails."""
    with pytest.raises(IdentityFieldError, match=reason):
        validate_ein(number, "entity.ein")


def test_registration_numbers() -> None:
    """A4: entity numbers pass under the country's registry/VAT scheme, or are format-checked and flagged."""
    siren = validate_registration("FR", "732 829 320", "entity.registration_number")
    assert (siren.scheme, siren.normalized, siren.checksum_verified) == ("fr.siren", "732829320", True)
    assert validate_registration("DE", "DE 136 695 976", "r").scheme == "de.vat"
    uk_company = validate_registration("GB", "01234567", "r")
    assert uk_company.flags == ["no_matching_scheme"] and not uk_company.checksum_verified
    with pytest.raises(IdentityFieldError, match="check digit fails for FR"):
        validate_registration("FR", "732 829 321", "r", scheme="fr.siren")
    assert validate_registration("AQ", "ABC123", "r").flags == ["no_checksum_scheme"]


def test_load_schemes_imports_every_scheme_a_check_can_use() -> None:
    """A3, A4: an API worker imports the stdnum module of every country's identifiers and reads
    their number databases as it starts, so no signup pays for a country's first number."""
    import sys

    from stdnum import numdb

    from cloudcip.identity.national_id import DOCUMENT_NUMBER_SCHEMES, load_schemes

    schemes = {
        s
        for table in (NATIONAL_ID_SCHEMES, DOCUMENT_NUMBER_SCHEMES, REGISTRATION_SCHEMES)
        for names in table.values()
        for s in names
    }
    assert load_schemes() == len(schemes)
    assert all(f"stdnum.{scheme}" in sys.modules for scheme in schemes)
    assert {"cn/loc", "id/loc", "my/bp", "us/ein"} <= set(numdb._open_databases)

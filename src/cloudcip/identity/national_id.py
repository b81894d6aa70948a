"""National identification numbers and entity registration numbers (A3, A4).

A3 asks for the national identification number of each foreign customer and beneficial owner,
with its issuing country; A4 asks that the number be checked with a maintained library. The
checks come from python-stdnum: each issuing country maps to the stdnum modules for its
*personal* identifiers (national ID, personal code, social-security or citizen number); a number
valid under any of them passes. A country without such a module gets a format check only and
the flag ``no_checksum_scheme``.

Identity documents: :func:`validate_document_number` (the number printed on a passport or an
identity card, checked for form; the Netherlands' scheme by stdnum).

Entities: :func:`validate_ein` (U.S. Employer Identification Number) and
:func:`validate_registration` (company register, business and VAT numbers per country).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from functools import cache
from types import ModuleType

from stdnum import numdb
from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError

from cloudcip.identity.address import normalize_country
from cloudcip.identity.problems import fail, require_text

#: Issuing country -> stdnum modules (relative to ``stdnum.``) for personal identifiers.
NATIONAL_ID_SCHEMES: dict[str, tuple[str, ...]] = {
    "AR": ("ar.dni",),
    "AT": ("at.vnr",),
    "BE": ("be.nn", "be.bis", "be.eid"),
    "BG": ("bg.egn", "bg.pnf"),
    "BR": ("br.cpf",),
    "CA": ("ca.sin",),
    "CH": ("ch.ssn",),
    "CL": ("cl.rut",),
    "CN": ("cn.ric",),
    "CR": ("cr.cpf", "cr.cr"),
    "CU": ("cu.ni",),
    "CZ": ("cz.rc",),
    "DE": ("de.idnr",),
    "DK": ("dk.cpr",),
    "DO": ("do.cedula",),
    "EC": ("ec.ci",),
    "EE": ("ee.ik",),
    "ES": ("es.dni", "es.nie"),
    "FI": ("fi.hetu",),
    "FR": ("fr.nir",),
    "GR": ("gr.amka",),
    "HR": ("hr.oib",),
    "ID": ("id.nik",),
    "IE": ("ie.pps",),
    "IL": ("il.idnr",),
    "IN": ("in_.aadhaar", "in_.vid", "in_.pan"),
    "IS": ("is_.kennitala",),
    "IT": ("it.codicefiscale",),
    "JP": ("jp.in_",),
    "KR": ("kr.rrn",),
    "LT": ("lt.asmens",),
    "MU": ("mu.nid",),
    "MX": ("mx.curp",),
    "MY": ("my.nric",),
    "NL": ("nl.bsn", "nl.identiteitskaartnummer"),
    "NO": ("no.fodselsnummer",),
    "PE": ("pe.cui",),
    "PK": ("pk.cnic",),
    "PL": ("pl.pesel",),
    "PT": ("pt.cc",),
    "RO": ("ro.cnp",),
    "SE": ("se.personnummer",),
    "SI": ("si.emso",),
    "SK": ("sk.rc",),
    "TH": ("th.pin",),
    "TR": ("tr.tckimlik",),
    "UA": ("ua.rntrc",),
    "US": ("us.ssn", "us.itin"),
    "ZA": ("za.idnr",),
}

#: Country -> stdnum modules for the numbers of identity documents (passports and identity cards).
#: Elsewhere a document number gets a format check only (the check digit of a passport or card
#: number lives in its machine-readable zone, not in the number).
DOCUMENT_NUMBER_SCHEMES: dict[str, tuple[str, ...]] = {
    "NL": ("nl.identiteitskaartnummer",),
}

#: Country -> stdnum modules for entity registration, business and VAT numbers.
REGISTRATION_SCHEMES: dict[str, tuple[str, ...]] = {
    "AD": ("ad.nrt",),
    "AL": ("al.nipt",),
    "AR": ("ar.cuit",),
    "AT": ("at.businessid", "at.uid"),
    "AU": ("au.abn", "au.acn"),
    "AZ": ("az.voen",),
    "BE": ("be.vat",),
    "BG": ("bg.vat",),
    "BR": ("br.cnpj",),
    "BY": ("by.unp",),
    "CA": ("ca.bn",),
    "CH": ("ch.uid", "ch.vat"),
    "CL": ("cl.rut",),
    "CN": ("cn.uscc",),
    "CO": ("co.nit",),
    "CR": ("cr.cpj",),
    "CY": ("cy.vat",),
    "CZ": ("cz.dic",),
    "DE": ("de.handelsregisternummer", "de.vat", "de.stnr"),
    "DK": ("dk.cvr",),
    "DO": ("do.rnc",),
    "DZ": ("dz.nif",),
    "EC": ("ec.ruc",),
    "EE": ("ee.registrikood", "ee.kmkr"),
    "EG": ("eg.tn",),
    "ES": ("es.cif", "es.nif"),
    "FI": ("fi.ytunnus", "fi.alv", "fi.associationid"),
    "FR": ("fr.siren", "fr.siret", "fr.tva", "fr.rcs"),
    "GB": ("gb.vat", "gb.utr"),
    "GH": ("gh.tin",),
    "GN": ("gn.nifp",),
    "GR": ("gr.vat",),
    "GT": ("gt.nit",),
    "HR": ("hr.oib",),
    "HU": ("hu.anum",),
    "ID": ("id.npwp",),
    "IE": ("ie.vat",),
    "IL": ("il.hp",),
    "IN": ("in_.gstin", "in_.pan"),
    "IS": ("is_.kennitala", "is_.vsk"),
    "IT": ("it.iva",),
    "JP": ("jp.cn",),
    "KE": ("ke.pin",),
    "KR": ("kr.brn",),
    "LI": ("li.peid",),
    "LT": ("lt.pvm",),
    "LU": ("lu.tva",),
    "LV": ("lv.pvn",),
    "MA": ("ma.ice",),
    "MC": ("mc.tva",),
    "MD": ("md.idno",),
    "ME": ("me.pib",),
    "MK": ("mk.edb",),
    "MT": ("mt.vat",),
    "MX": ("mx.rfc",),
    "MZ": ("mz.nuit",),
    "NL": ("nl.btw",),
    "NO": ("no.orgnr", "no.mva"),
    "NZ": ("nz.ird",),
    "PE": ("pe.ruc",),
    "PL": ("pl.nip", "pl.regon"),
    "PT": ("pt.nif",),
    "PY": ("py.ruc",),
    "RO": ("ro.cui", "ro.cf", "ro.onrc"),
    "RS": ("rs.pib",),
    "RU": ("ru.inn", "ru.ogrn"),
    "SE": ("se.orgnr", "se.vat"),
    "SG": ("sg.uen",),
    "SI": ("si.maticna", "si.ddv"),
    "SK": ("sk.dph",),
    "SM": ("sm.coe",),
    "SN": ("sn.ninea",),
    "SV": ("sv.nit",),
    "TH": ("th.moa", "th.tin"),
    "TN": ("tn.mf",),
    "TR": ("tr.vkn",),
    "TW": ("tw.ubn",),
    "UA": ("ua.edrpou",),
    "US": ("us.ein",),
    "UY": ("uy.rut",),
    "VE": ("ve.rif",),
    "VN": ("vn.mst",),
    "ZA": ("za.tin",),
}

#: Schemes whose stdnum module checks structure only: the number carries no check digit.
SCHEMES_WITHOUT_CHECK_DIGIT: frozenset[str] = frozenset(
    {
        "ar.dni",
        "cr.cpf",
        "cr.cr",
        "cu.ni",
        "id.nik",
        "my.nric",
        "nl.identiteitskaartnummer",
        "pk.cnic",
        "us.ssn",
        "us.itin",
        "us.ein",
        "in_.pan",
        "de.handelsregisternummer",
        "fr.rcs",
        "ro.onrc",
    }
)

_SEPARATORS = re.compile(r"[\s\-./]+")
_FALLBACK_NATIONAL_ID = re.compile(r"[A-Z0-9]{3,20}")
_FALLBACK_REGISTRATION = re.compile(r"[A-Z0-9]{3,30}")
_DOCUMENT_NUMBER = re.compile(r"[A-Z0-9]{5,20}")
_MAX_INPUT_LENGTH = 64


@dataclass(frozen=True)
class NationalIdCheck:
    """The outcome of a national-ID check: the normalised number and how far it was verified."""

    normalized: str
    scheme: str | None
    checksum_verified: bool
    flags: list[str] = dataclass_field(default_factory=list)
    birth_date: date | None = None


@dataclass(frozen=True)
class RegistrationCheck:
    """The outcome of an entity registration-number check."""

    normalized: str
    scheme: str | None
    checksum_verified: bool
    flags: list[str] = dataclass_field(default_factory=list)


@cache
def _scheme_module(scheme: str) -> ModuleType:
    return importlib.import_module(f"stdnum.{scheme}")


#: the stdnum number databases the modules above read on their first number (us.ein: 36 ms)
_NUMBER_DATABASES = ("cn/loc", "id/loc", "my/bp", "us/ein")


def load_schemes() -> int:
    """Import every stdnum module the checks above can use (~0.1 s of CPU), as an API worker starts
    (``api.warmup``): imported on first use instead, a country's first registration or national
    number took 5-10 ms more, 13 of the benchmark's first 1,000 signups (A3, A4, issue 11).
    Returns how many schemes there are."""
    schemes = {
        scheme
        for table in (NATIONAL_ID_SCHEMES, DOCUMENT_NUMBER_SCHEMES, REGISTRATION_SCHEMES)
        for names in table.values()
        for scheme in names
    }
    for scheme in sorted(schemes):
        _scheme_module(scheme)
    for database in _NUMBER_DATABASES:
        numdb.get(database)
    return len(schemes)


def scheme_label(scheme: str) -> str:
    """A short human name of a stdnum scheme, e.g. ``IdNr`` for ``de.idnr``."""
    doc = (_scheme_module(scheme).__doc__ or scheme).strip().splitlines()[0]
    return doc.split(" (", 1)[0].rstrip(".").strip() or scheme


def national_id_schemes(country: str) -> tuple[str, ...]:
    """The stdnum schemes used for personal identifiers issued by ``country`` (alpha-2)."""
    return NATIONAL_ID_SCHEMES.get(country.upper(), ())


class _Outcome:
    def __init__(self) -> None:
        self.checksum_failures: list[str] = []
        self.length_failures: list[str] = []
        self.other_failures: list[str] = []

    def record(self, scheme: str, error: Exception) -> None:
        if isinstance(error, InvalidChecksum):
            self.checksum_failures.append(scheme)
        elif isinstance(error, InvalidLength):
            self.length_failures.append(scheme)
        else:
            self.other_failures.append(scheme)

    def reason(self, country: str, kind: str) -> str:
        if self.checksum_failures:
            labels = ", ".join(scheme_label(s) for s in self.checksum_failures)
            return f"check digit fails for {country} {labels}"
        tried = self.length_failures + self.other_failures
        labels = ", ".join(scheme_label(s) for s in tried)
        if self.length_failures and not self.other_failures:
            return f"wrong length for {country} {labels}"
        return f"is not a valid {country} {kind} ({labels})"


def _try_schemes(schemes: tuple[str, ...], text: str) -> tuple[str, str] | _Outcome:
    outcome = _Outcome()
    for scheme in schemes:
        module = _scheme_module(scheme)
        try:
            compacted = module.validate(text)
        except ValidationError as error:
            outcome.record(scheme, error)
            continue
        except Exception as error:  # a stdnum module choking on odd input is a format failure
            outcome.record(scheme, error)
            continue
        return scheme, str(compacted).upper()
    return outcome


def _birth_date_from(scheme: str, number: str) -> date | None:
    getter = getattr(_scheme_module(scheme), "get_birth_date", None)
    if getter is None:
        return None
    try:
        value = getter(number)
    except Exception:  # a number can be valid yet carry no usable date (e.g. BIS without birth date)
        return None
    return value if isinstance(value, date) else None


def _prepare(number: str, field: str) -> str:
    text = require_text(number, field)
    if len(text) > _MAX_INPUT_LENGTH:
        raise fail(field, f"is longer than {_MAX_INPUT_LENGTH} characters")
    if not text.isprintable():
        raise fail(field, "contains control characters")
    return text


def _resolve_schemes(
    country: str, scheme: str | None, table: dict[str, tuple[str, ...]], field: str
) -> tuple[str, ...]:
    if scheme is None:
        return table.get(country, ())
    if scheme not in table.get(country, ()):
        raise fail(field, f"scheme is not one cloudcip knows for {country}")
    return (scheme,)


def validate_national_id(country: str, number: str, field: str, scheme: str | None = None) -> NationalIdCheck:
    """Check a personal national identification number issued by ``country``.

    The number passes when it is valid under any stdnum scheme mapped to the country (or under
    ``scheme`` only, when given). A country without a scheme gets a format check (3 to 20 letters
    or digits once spaces, dashes, dots and slashes are removed) and the flag ``no_checksum_scheme``.
    The country problem, if any, is reported under ``<field's parent>.country``.
    """
    parent = field.rsplit(".", 1)[0] if "." in field else field
    alpha2 = normalize_country(country, f"{parent}.country" if "." in field else "country")
    text = _prepare(number, field)
    schemes = _resolve_schemes(alpha2, scheme, NATIONAL_ID_SCHEMES, field)
    if not schemes:
        compact = _SEPARATORS.sub("", text).upper()
        if not _FALLBACK_NATIONAL_ID.fullmatch(compact):
            raise fail(field, "must be 3 to 20 letters or digits")
        return NationalIdCheck(compact, None, False, ["no_checksum_scheme"])
    result = _try_schemes(schemes, text)
    if isinstance(result, _Outcome):
        raise fail(field, result.reason(alpha2, "national identification number"))
    matched, compacted = result
    verified = matched not in SCHEMES_WITHOUT_CHECK_DIGIT
    flags = [] if verified else ["no_check_digit"]
    return NationalIdCheck(compacted, matched, verified, flags, _birth_date_from(matched, compacted))


def validate_document_number(country: str, number: str, field: str) -> NationalIdCheck:
    """Check the number of an identity document (passport, identity card, residence permit) issued
    by ``country``: the country's stdnum scheme where one exists (``DOCUMENT_NUMBER_SCHEMES``), else
    5 to 20 letters or digits with the flag ``no_checksum_scheme``. A German identity card number
    (``T22000129``) is a document number, not the tax IdNr a ``national_id`` of Germany is."""
    parent = field.rsplit(".", 1)[0] if "." in field else field
    alpha2 = normalize_country(country, f"{parent}.country" if "." in field else "country")
    text = _prepare(number, field)
    schemes = DOCUMENT_NUMBER_SCHEMES.get(alpha2, ())
    if schemes:
        result = _try_schemes(schemes, text)
        if isinstance(result, _Outcome):
            raise fail(field, result.reason(alpha2, "document number"))
        return NationalIdCheck(result[1], result[0], result[0] not in SCHEMES_WITHOUT_CHECK_DIGIT)
    compact = _SEPARATORS.sub("", text).replace("<", "").upper()
    if not _DOCUMENT_NUMBER.fullmatch(compact):
        raise fail(field, "must be 5 to 20 letters or digits")
    return NationalIdCheck(compact, None, False, ["no_checksum_scheme"])


def validate_ein(number: str, field: str) -> RegistrationCheck:
    """Check a U.S. Employer Identification Number (nine digits, a valid IRS campus prefix).

    An EIN carries no check digit, so ``checksum_verified`` is False and the flag
    ``no_check_digit`` is set. The normalised form is the nine digits.
    """
    text = _prepare(number, field)
    result = _try_schemes(("us.ein",), text)
    if isinstance(result, _Outcome):
        if result.length_failures:
            raise fail(field, "an EIN has nine digits")
        raise fail(field, "is not a valid EIN (nine digits with an IRS-assigned prefix)")
    return RegistrationCheck(result[1], "us.ein", False, ["no_check_digit"])


def validate_registration(country: str, number: str, field: str, scheme: str | None = None) -> RegistrationCheck:
    """Check an entity's registration, business or VAT number for ``country``.

    Registries differ in what numbers they issue, and stdnum covers some of them. A number valid
    under any stdnum scheme of the country passes with ``checksum_verified`` set (unless the scheme
    has no check digit). Otherwise the number passes a format check (3 to 30 letters or digits)
    with the flag ``no_matching_scheme``, unless ``scheme`` is given, in which case that scheme must
    accept it.
    """
    parent = field.rsplit(".", 1)[0] if "." in field else field
    alpha2 = normalize_country(country, f"{parent}.country" if "." in field else "country")
    text = _prepare(number, field)
    schemes = _resolve_schemes(alpha2, scheme, REGISTRATION_SCHEMES, field)
    if schemes:
        result = _try_schemes(schemes, text)
        if not isinstance(result, _Outcome):
            matched, compacted = result
            verified = matched not in SCHEMES_WITHOUT_CHECK_DIGIT
            return RegistrationCheck(compacted, matched, verified, [] if verified else ["no_check_digit"])
        if scheme is not None:
            raise fail(field, result.reason(alpha2, "registration number"))
    compact = _SEPARATORS.sub("", text).upper()
    if not _FALLBACK_REGISTRATION.fullmatch(compact):
        raise fail(field, "must be 3 to 30 letters or digits")
    return RegistrationCheck(compact, None, False, ["no_matching_scheme" if schemes else "no_checksum_scheme"])

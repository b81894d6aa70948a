"""Corroborating evidence of a screening hit beyond the name (D3): the factors and checks the matcher
adjusts a name score with and explains.

A weak alias, a person against an entity and different legal forms count less (a limited-liability
company against a joint-stock one more so); a date of birth is compared by year and month
(``date_evidence``); numbers in the names (``name_numbers``: "TONG HUNG 1" is not "TONG HUNG 5") and
the countries an entity's listing ties it to (``party_countries``: its flag or nationality and its
addresses) are read here.
"""

from __future__ import annotations

import re

from cloudcip.domain.designated import DesignatedParty
from cloudcip.screening.name_words import JOINT_STOCK_FORMS, LIMITED_LIABILITY_FORMS
from cloudcip.screening.names import NormalisedName

WEAK_ALIAS_FACTOR = 0.85
SCHEMA_MISMATCH_FACTOR = 0.80
LEGAL_FORM_MISMATCH_FACTOR = 0.97  # different legal-form words that may name the same kind of company
LEGAL_FORM_CONTRADICTION_FACTOR = 0.88  # a limited-liability company against a joint-stock company
NUMBER_MISMATCH_FACTOR = 0.85  # "TONG HUNG 1" against "TONG HUNG 5"
JURISDICTION_AGREES = 0.03
JURISDICTION_CONTRADICTS = -0.06
JURISDICTION_AND_FORM_CONTRADICT = -0.12  # the jurisdiction contradicts and the legal forms differ


# --- dates of birth -----------------------------------------------------------------------------


def date_evidence(query_date: str, listed_dates: list[str]) -> tuple[float, str]:
    """(adjustment, explanation) from a query date of birth against a party's listed ones."""
    qy, _, q_rest = query_date.partition("-")
    if not qy.isdigit():
        return 0.0, ""
    best = (-0.15, f"date of birth {query_date} contradicts listed {', '.join(listed_dates)}")
    for listed in listed_dates:
        ly, _, l_rest = listed.partition("-")
        if not ly.isdigit():
            continue
        if ly == qy:
            if l_rest and q_rest and l_rest == q_rest:
                return 0.06, f"date of birth {query_date} equals listed {listed}"
            if l_rest and q_rest and l_rest[:2] != q_rest[:2]:
                candidate = (-0.08, f"date of birth {query_date}: same year, other month than {listed}")
            else:
                candidate = (0.03, f"year of birth {qy} agrees with listed {listed}")
        elif abs(int(ly) - int(qy)) <= 1:
            candidate = (0.0, f"year of birth {qy} within a year of listed {listed}")
        else:
            continue
        if candidate[0] > best[0]:
            best = candidate
    return best


_NUMBER = re.compile(r"^0*(\d+)(?:st|nd|rd|th)?$")


def name_numbers(name: NormalisedName) -> set[str]:
    """The numbers in a name, ordinals as their number ("33RD DIVISION" holds 33)."""
    return {m.group(1) for t in name.texts if (m := _NUMBER.match(t))}


def legal_families(forms: set[str]) -> set[str]:
    families = set()
    if forms & LIMITED_LIABILITY_FORMS:
        families.add("limited-liability")
    if forms & JOINT_STOCK_FORMS:
        families.add("joint-stock")
    return families


def party_countries(party: DesignatedParty) -> set[str]:
    """Countries an entity's listing ties it to: nationality (a vessel's flag) and its addresses."""
    countries = {c.upper() for c in (*party.nationalities, *party.citizenships)}
    countries.update(a.country.upper() for a in party.addresses if a.country)
    return countries

"""Look-alikes told apart (D3, issue 18): different listed parties whose names share words, and the
real aliases of one party that must still be found.

Each row is a query and a listed name a reviewer can read (taken from the lists); the expected outcome
is at the default review threshold.
"""

from __future__ import annotations

import pytest
from tests.screening.one_name import REVIEW, score_against

from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.screening.index import ScreeningIndex
from cloudcip.screening.matcher import ScreeningQuery, compare_names, screen

pytestmark = pytest.mark.requirement("D3")

# (query, listed name, found at review or above)
CROSSED_INITIALS = [
    # each side's initial stands for the other side's given name, and those differ: two relatives
    ("Oluwole A. Ogungbuyi", "Abeni O. Ogungbuyi", False),
    ("Abeni O. Ogungbuyi", "Oluwole A. Ogungbuyi", False),
    # in the same order on both sides the initials may stand for the names written out on the other
    ("John A. Smith", "J. Adam Smith", True),
    # crossed, but the full names are spellings of one name (an OFAC alias of one party)
    ("Turki Musharraf M Alsehri", "Turki M Muserref Alsehri", True),
]


@pytest.mark.parametrize(("query", "listed", "found"), CROSSED_INITIALS)
def test_crossed_initials(query: str, listed: str, found: bool) -> None:
    assert (score_against(query, listed) >= REVIEW) is found
    assert (compare_names(query, listed, "Person") >= REVIEW) is found


# (query, listed name, found): a person's first word, the given name, left unmatched on both sides
GIVEN_NAMES = [
    # brothers listed apart: the same father, grandfather and family name, another given name
    ("TARAK BEN TAHER BEN FALEH OUNI HARZI", "ALI BEN TAHER BEN FALEH OUNI HARZI", False),
    # the given name in another place: not left unmatched (OFAC aliases of one party)
    ("Vladimir Ivanov", "IVANOV, Vladimir Petrovich", True),
    ("Rafael Caro Quintero", "CARO QUINTERO, Rafael", True),
]


@pytest.mark.parametrize(("query", "listed", "found"), GIVEN_NAMES)
def test_another_given_name(query: str, listed: str, found: bool) -> None:
    assert (score_against(query, listed) >= REVIEW) is found


def _scores(names: tuple[str, ...], query: str) -> float:
    parties = [DesignatedParty("test", "0", "Person", [ListedName(n) for n in names])]
    parties += [DesignatedParty("test", f"x{i}", "Person", [ListedName(n)])
                for i, n in enumerate(("Piotr Nowak", "Ingrid Lindqvist", "Tomasz Wrobel"))]  # fmt: skip
    hits = screen(ScreeningIndex(parties), ScreeningQuery(name=query, schema="Person"), include_clear=True)
    return max((h.score for h in hits if h.party_id == "0"), default=0.0)


def test_latin_query_against_a_party_also_listed_in_latin_script() -> None:
    # a UN entry's name in Arabic script beside its Latin one: a Latin query is compared with the Latin
    # name; by consonant skeleton, "Jenna Ollila" (a Faker name) came to 0.85 against "ولی جان"
    assert _scores(("Wali Jan", "ولی جان"), "Jenna Ollila") < REVIEW
    assert _scores(("Wali Jan", "ولی جان"), "Wali Jan") >= REVIEW
    assert _scores(("Wali Jan", "ولی جان"), "ولی جان") >= REVIEW  # the Arabic-script query still compared
    # listed in Arabic script only: its name is still compared by skeleton
    assert _scores(("ولی جان",), "Wali Jan") >= REVIEW

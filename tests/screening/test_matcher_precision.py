"""Look-alikes told apart (D3, issue 18): different listed parties whose names share words, and the
real aliases of one party that must still be found.

Each row is a query and a listed name a reviewer can read (taken from the lists); the expected outcome
is at the default review threshold.
"""

from __future__ import annotations

import pytest
from tests.screening.one_name import REVIEW, score_against

from cloudcip.screening.matcher import compare_names

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

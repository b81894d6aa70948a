"""The candidate index's blocking step (D3): what makes the candidates a query's names are scored against."""

from __future__ import annotations

import pytest

from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.screening.index import ScreeningIndex
from cloudcip.screening.matcher import ScreeningQuery, Thresholds, screen
from cloudcip.screening.names import normalise_name


@pytest.mark.requirement("D3")
def test_a_party_listed_under_many_spellings_counts_once_toward_the_candidate_cap() -> None:
    # a relative listed under many spellings on several lists, sharing four of the query's five words
    # exactly, and the person asked for, whose name the list spells a little differently: the relative's
    # names all gather more in the blocking step, and used to fill every candidate place
    relative = DesignatedParty("test", "relative", "Person", [
        ListedName(f"{given} Sabawi Ibrahim Hasan Al-Tikriti")
        for given in ("Yasir", "Yasser", "Yassir")])  # fmt: skip
    person = DesignatedParty("test", "person", "Person", [ListedName("Ibraheem Sabaawi Ibrahim Hassan Al-Takriti")])
    index = ScreeningIndex([relative, person], max_candidates=3)
    query = ScreeningQuery(name="Ibrahim Sabawi Ibrahim Hasan Al-Tikriti", schema="Person")
    candidates = index.candidates(normalise_name(query.name, "Person"))
    assert {index.names[n].party for n in candidates.name_ids} == {0, 1}
    hits = screen(index, query, include_clear=True)
    assert any(h.party_id == "person" and h.score >= Thresholds().review for h in hits)

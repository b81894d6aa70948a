"""A listed name screened on its own (D3): the index of one listed party among a few unrelated ones, and
the score a query gets against it under the default thresholds."""

from __future__ import annotations

from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.screening.index import ScreeningIndex
from cloudcip.screening.matcher import ScreeningQuery, Thresholds, screen

REVIEW = Thresholds().review


def one_name_index(schema: str, *names: str) -> ScreeningIndex:
    """``names`` listed (party ids "0", "1" ...) among a few unrelated parties, so that the listed names
    are not the whole vocabulary."""
    parties = [DesignatedParty("test", str(i), schema, [ListedName(n)]) for i, n in enumerate(names)]  # type: ignore[arg-type]
    parties += [DesignatedParty("test", f"x{i}", "Person", [ListedName(n)])
                for i, n in enumerate(("Piotr Nowak", "Ingrid Lindqvist", "Tomasz Wrobel"))]  # fmt: skip
    return ScreeningIndex(parties)


def score_against(query: str, listed: str, schema: str = "Person") -> float:
    """The best score of ``query`` against the party that lists ``listed``."""
    hits = screen(one_name_index(schema, listed), ScreeningQuery(name=query, schema=schema), include_clear=True)  # type: ignore[arg-type]
    return max((h.score for h in hits if h.party_id == "0"), default=0.0)

"""The blocking step of the screening matcher (D3): the names of the index worth a full score for
one query name, so a query never scans every name (``ScreeningIndex`` holds what it reads).

Each query token's similar vocabulary tokens (``ScreeningIndex.query_positions``), and the joined
forms of adjacent query tokens, gather the names in their postings, weighted by similarity times
inverse document frequency; tokens whose matches hold more than ``COMMON_POSTINGS`` names only
re-rank names rarer tokens found; query initials add ``INITIAL_GAIN`` for a listed token of that first
letter. Names below ``CANDIDATE_SHARE`` of what the query could gather are dropped, and the best go to
the full score, their places counted in parties (``NAMES_PER_PLACE``).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cloudcip.screening.names import NormalisedName

if TYPE_CHECKING:
    from cloudcip.screening.index import ScreeningIndex

COMMON_POSTINGS = 1500  # a query token whose matches hold more names than this only re-ranks
CLOSE_MATCH = 0.96  # similarity of a phonetic-key match: what a common-only query blocks on
CANDIDATE_SHARE = 0.4  # a candidate name holds at least this share of the query's blocking weight
ABJAD_CANDIDATE_FACTOR = 2  # an abjad-script query keeps this many times more candidates
NAMES_PER_PLACE = 1.5  # candidate names scored per candidate place at most (a party's names share one place)
INITIAL_GAIN = 1.5  # blocking weight of a query initial found as the first letter of a listed token


# the query tokens left over when some are aligned: their omission costs, the sum of those, the sum of
# their conflict weights, their texts
QuerySide = tuple[list[float], float, float, list[str]]


@dataclass(slots=True)
class QueryTokenMatches:
    """The vocabulary tokens similar to one query token (or to a joined pair of query tokens)."""

    sims: dict[int, float] = field(default_factory=dict)

    def add(self, vocab_id: int, sim: float) -> None:
        if sim > self.sims.get(vocab_id, 0.0):
            self.sims[vocab_id] = sim


@dataclass(slots=True)
class CandidateSet:
    """What the blocking step found for one query name."""

    query: NormalisedName
    positions: list[QueryTokenMatches]  # one per query token
    joined: list[QueryTokenMatches]  # one per adjacent pair of query tokens
    name_ids: list[int]  # candidate names, best blocking score first
    examined: int  # names whose blocking score was computed (the candidate set before the cut)
    blocking: list[float] = field(default_factory=list)  # blocking score of each of ``name_ids``
    # each query token's similarities to listed tokens (by vocabulary id) so far (``token_pairs``)
    pair_sims: list[dict[int, float]] = field(default_factory=list)
    # kept by the alignment (``alignment_indexed.score_indexed`` and its ``_prepare``) while the candidates are
    # scored: the query's token texts, costs and flags, each token's row of what the alignment reads
    # of it (None until the first candidate is scored), the vocabulary ids any query token or joined
    # pair is similar to, and whether a joined pair of query tokens is similar to any
    query_texts: list[str] = field(default_factory=list)
    query_omitted: list[float] = field(default_factory=list)  # query weight times ``omission_factor``
    query_conflict: list[float] = field(default_factory=list)  # ``conflict_weight`` of each query token
    query_syllabic: bool = False
    query_abjad_any: bool = False
    query_rows: list[tuple[tuple[int], str, dict[int, float], dict[int, float], bool, bool, bool, str, str, bool]] \
        | None = None
    similar_ids: set[int] = field(default_factory=set)
    joined_similar: bool = False
    # what the query's other tokens cost when one token (or joined pair) alone is aligned
    # (``alignment_indexed._query_side``), by the aligned query tokens' positions
    query_sides: dict[tuple[int, ...], QuerySide] = field(default_factory=dict)


def candidates(index: ScreeningIndex, query: NormalisedName) -> CandidateSet:
    """Blocking: the names worth a full score for this query name, best first."""
    positions = index.query_positions(query)
    joined: list[QueryTokenMatches] = []
    for a, b in zip(query.tokens, query.tokens[1:], strict=False):
        pair = QueryTokenMatches()
        if a.is_initial or b.is_initial:
            joined.append(pair)
            continue
        exact = index.vocab.get(a.text + b.text)
        abjad = a.abjad or b.abjad
        if exact is not None and not abjad:
            pair.add(exact, 1.0)
        elif len(a.text) + len(b.text) >= (4 if abjad else 6):
            # two abjad tokens written as one Latin name ("ولی جان" / "Walijan") compare by skeleton,
            # also when the same words are listed in Arabic script (their joined form is then in
            # the vocabulary too, and the Latin spellings must not be left out for it)
            pair = index.similar_tokens(a.text + b.text, abjad, "token" if abjad else "joined")
            if a.syllable and b.syllable:
                # two Han or Hangul syllables read as one given name: as strict as one syllable
                # ("zhi qiang" is not "Zhiqing", "mei hua" not "Weihua")
                pair = QueryTokenMatches({v: sim for v, sim in pair.sims.items() if sim >= CLOSE_MATCH})
        elif exact is not None:
            pair.add(exact, 1.0)
        joined.append(pair)

    # a joined pair of query tokens counts for both of its positions (the units are only read
    # below: without a joined match they are the positions themselves)
    units = positions
    if any(pair.sims for pair in joined):
        units = [QueryTokenMatches(dict(p.sims)) for p in positions]
        for i, pair in enumerate(joined):
            for vid, sim in pair.sims.items():
                units[i].add(vid, sim)
                units[i + 1].add(vid, sim)

    scores: dict[int, float] = {}
    postings = index.postings
    sizes = index.posting_sizes
    sized = sorted(
        ((sum([sizes[v] for v in u.sims]), u) for u in units if u.sims),
        key=lambda pair: pair[0],
    )
    common: list[QueryTokenMatches] = []
    idf = index.idf
    closest: dict[int, tuple[int, float]] = {}  # a unit's closest match (by ``id``), for ``potential``
    for total, unit in sized:
        if total > COMMON_POSTINGS and (scores or common):
            common.append(unit)
            continue
        sims = unit.sims
        if total > COMMON_POSTINGS:
            # even the rarest query token is common ("kim", "wang"): block on its close spellings
            # only; the other tokens re-rank what it finds
            sims = {v: s for v, s in sims.items() if s >= CLOSE_MATCH} or sims
        local: dict[int, float] = {}
        # every match of one query token weighs as its closest match does: a rarer but worse
        # spelling ("shaab" for "shabab") must not outrank the better one ("shabaab")
        best = max(sims.items(), key=lambda item: (item[1], -idf[item[0]]))
        if sims is unit.sims:
            closest[id(unit)] = best
        weight = idf[best[0]]
        for vid, sim in sims.items():
            gain = sim * weight
            if not local and gain > 0.0:
                local = dict.fromkeys(postings[vid], gain)  # the same as the loop below, at once
                continue
            known = local.get
            for nid in postings[vid]:
                if gain > known(nid, 0.0):
                    local[nid] = gain
        if not scores:
            scores = local  # 0.0 + gain: the gains themselves
            continue
        gathered = scores.get
        for nid, gain in local.items():
            scores[nid] = gathered(nid, 0.0) + gain
    for unit in common:
        best = max(unit.sims.items(), key=lambda item: item[1])
        gain = best[1] * index.idf[best[0]]
        union: set[int] = set().union(*(index.postings[v] for v in unit.sims))
        for nid in union.intersection(scores):
            scores[nid] += gain
    initials = [t.text for t in query.tokens if t.is_initial]
    if initials and scores:
        names = index.names
        for nid in scores:
            letters = names[nid].first_letters
            scores[nid] += INITIAL_GAIN * sum(1 for i in initials if i in letters)
    index.last_candidate_count = len(scores)
    # names that gathered only a small share of what the query could give are no candidates
    # (what the query's closest listed tokens give: a rare near-miss must not raise the bar)
    potential = 0.0
    for unit in units:
        if unit.sims:
            found = closest.get(id(unit))
            vid, sim = found if found is not None else max(unit.sims.items(),
                                                           key=lambda item: (item[1], -idf[item[0]]))
            potential += sim * idf[vid]
    floor = CANDIDATE_SHARE * potential
    names = index.names
    masked = index._masked
    shorter_first = index.shorter_first
    # among equals, shorter listed names first: they can be matched more completely
    if masked:
        scores = {
            nid: score - shorter_first[nid]
            for nid, score in scores.items()
            if score >= floor and nid not in masked
        }
    else:
        scores = {nid: score - shorter_first[nid] for nid, score in scores.items() if score >= floor}
    # a query in an abjad script finds the names written in it exactly, and the Latin spellings of
    # the same name only by skeleton: more candidates, or the Latin ones are crowded out
    limit = index.max_candidates * (ABJAD_CANDIDATE_FACTOR if any(t.abjad for t in query.tokens) else 1)
    if len(scores) > limit:
        # the places go to parties, not names: a party listed under many spellings (on several
        # lists) counts once, or its names fill every place and crowd out another party's one name;
        # at most ``NAMES_PER_PLACE`` times as many names as places are scored
        ranked = heapq.nlargest(int(NAMES_PER_PLACE * limit), scores, key=scores.__getitem__)
        placed: set[int] = set()
        name_ids: list[int] = []
        for nid in ranked:
            party = names[nid].party
            if party not in placed:
                if len(placed) == limit:
                    break
                placed.add(party)
            name_ids.append(nid)
    else:
        name_ids = sorted(scores, key=scores.__getitem__, reverse=True)
    return CandidateSet(query, positions, joined, name_ids, len(scores), [scores[n] for n in name_ids],
                        pair_sims=[index.token_pairs(t) for t in query.tokens])

"""Name alignment against the candidate index (D3): a query name scored against one candidate name.

``score_indexed`` gathers the token pairs of a query name and a candidate name from what the
blocking step found (``CandidateSet``) and the index's tables, and aligns them as ``alignment.align``
does. Most candidates align one pair of tokens only: those are scored by ``_align_one``, the same
arithmetic as ``align`` in the same order (so the same score to the last bit) without its loop, and
the query side of its costs computed once per query name (``_query_side``). A candidate whose score
is below the caller's ``floor`` gets its score alone, or an upper bound of it below the floor too
(no pairs, no unmatched tokens): the matcher drops it unread.
"""

from __future__ import annotations

from collections.abc import Sequence

from cloudcip.screening.alignment import (
    _COMMON_SPAN,
    _FIRST_SPAN,
    _FURTHER_SPAN,
    _HALF_SHORT,
    CONTAINED_DISCOUNT,
    EXTRA_TOKEN_COST,
    FURTHER_EXTRA_COST,
    JOINED_DISCOUNT,
    PAIR_FLOOR,
    SHORT_EVIDENCE,
    SINGLE_MATCH_COMMONNESS,
    Alignment,
    _late_pair,
    align,
)
from cloudcip.screening.blocking import CandidateSet, QuerySide
from cloudcip.screening.index import (
    ALTERNATIVE_DISCOUNT,
    LATE_PAIR_LENGTH,
    IndexedName,
    conflict_weight,
    omission_factor,
)
from cloudcip.screening.similarity import phonetic_key

# how far below the floor an upper bound of a score computed from sums taken in another order must be
# to drop the candidate on it (the two sums differ by rounding, ~1e-15)
BOUND_MARGIN = 1e-9


def score_indexed(
    candidates: CandidateSet,
    listed: IndexedName,
    q_weights: list[float],
    vocab_abjad: list[bool],
    vocab_heads: list[str],
    floor: float = 0.0,
) -> Alignment:
    """Alignment of the query of ``candidates`` with one of its candidate names.

    A query token's similarity to a listed token depends on the two tokens only: it is kept
    (``CandidateSet.pair_sims``, ``ScreeningIndex.token_pairs``), as candidates of one query share
    many tokens, and common tokens recur from query to query. ``q_weights`` are the same for every
    candidate of ``candidates``. ``vocab_abjad``, ``vocab_heads``: the index's tables of its vocabulary
    (``ScreeningIndex``), which tell a pair ``_late_pair`` can only give 0 without calling it.
    A candidate that aligns one pair and scores below ``floor`` gets its score (or an upper bound of
    it, also below ``floor``) alone: no pairs, no unmatched tokens (for a caller that drops such
    candidates unread).
    """
    if candidates.query_rows is None:
        _prepare(candidates, q_weights)
    rows = candidates.query_rows
    assert rows is not None
    items: list[tuple[float, tuple[int, ...], tuple[int, ...]]] = []
    c_texts = listed.texts
    token_ids = listed.token_ids
    alternative_ids = listed.alternative_ids
    joined_ids = listed.joined_ids
    plain = not listed.has_alternatives
    late_initial, late_firsts, late_sounded = listed.late_heads
    # no query token is similar to a joined pair of the listed name's tokens: nothing to look up
    joined_listed = not candidates.similar_ids.isdisjoint(joined_ids)
    for qi, qt, sims, known, abjad_i, initial_i, long_i, first_i, sounded_i, syllable_i in rows:
        if plain:
            if abjad_i or not (initial_i or late_initial or (
                    long_i and (first_i in late_firsts or sounded_i in late_sounded))):
                # no pair ``_late_pair`` could give more than 0: the blocking's similarities alone
                if sims and not sims.keys().isdisjoint(token_ids):
                    for j, vid in enumerate(token_ids):
                        sim = sims.get(vid)
                        if sim is not None and sim >= PAIR_FLOOR:
                            items.append((sim, qi, (j,)))
            else:
                for j, vid in enumerate(token_ids):
                    sim = sims.get(vid)
                    if sim is None:  # not similar by the blocking keys: perhaps a pair ``_late_pair`` gives
                        if vocab_abjad[vid]:
                            continue
                        ct = c_texts[j]
                        if not (initial_i or len(ct) == 1 or (
                            long_i and len(ct) >= LATE_PAIR_LENGTH
                            and (first_i == (heads := vocab_heads[vid])[:1] or sounded_i == heads[1:])
                        )):
                            continue
                        sim = known.get(vid)
                        if sim is None:
                            sim = known[vid] = _late_pair(qt, ct, syllable_i)
                    if sim >= PAIR_FLOOR:
                        items.append((sim, qi, (j,)))
        else:
            for j, vid in enumerate(token_ids):
                alternatives = alternative_ids[j]
                # a token without alternative readings: its similarity to the query token is remembered
                cached = None if alternatives else known.get(vid)
                if cached is None:
                    sim = sims.get(vid, 0.0)
                    for alt in alternatives:
                        sim = max(sim, sims.get(alt, 0.0) * ALTERNATIVE_DISCOUNT)
                    if sim == 0.0 and not (abjad_i or vocab_abjad[vid]):
                        ct = c_texts[j]
                        if initial_i or len(ct) == 1 or (
                            long_i and len(ct) >= LATE_PAIR_LENGTH
                            and (first_i == (heads := vocab_heads[vid])[:1] or sounded_i == heads[1:])
                        ):
                            sim = _late_pair(qt, ct, syllable_i)
                    if not alternatives:
                        known[vid] = sim
                else:
                    sim = cached
                if sim >= PAIR_FLOOR:
                    items.append((sim, qi, (j,)))
        if not sims or not joined_listed:
            continue
        for j, vid in enumerate(joined_ids):
            sim = sims.get(vid, 0.0)
            if sim >= PAIR_FLOOR:
                items.append((sim * JOINED_DISCOUNT, qi, (j, j + 1)))
    if candidates.joined_similar:
        for i, pair in enumerate(candidates.joined):
            if not pair.sims or pair.sims.keys().isdisjoint(token_ids):
                continue
            for j, vid in enumerate(token_ids):
                sim = pair.sims.get(vid, 0.0)
                if sim >= PAIR_FLOOR:
                    items.append((sim * JOINED_DISCOUNT, (i, i + 1), (j,)))
    abjad = candidates.query_abjad_any or (bool(token_ids) and vocab_abjad[token_ids[0]])
    if len(items) == 1 and items[0][0] >= PAIR_FLOOR:  # most candidates: one pair of tokens aligned
        return _align_one(items[0], candidates, listed, abjad, q_weights, floor)
    return align(candidates.query_texts, q_weights, c_texts, listed.weights, items, listed.commonness, listed.evidence,
                 listed.omitted, listed.conflict, candidates.query_omitted, candidates.query_conflict,
                 candidates.query_syllabic, abjad)


def _prepare(candidates: CandidateSet, q_weights: list[float]) -> None:
    """What ``score_indexed`` reads of the query for every candidate, computed with the first."""
    tokens = candidates.query.tokens
    candidates.query_texts = texts = [t.text for t in tokens]
    candidates.query_omitted = [w * omission_factor(t) for w, t in zip(q_weights, texts, strict=True)]
    candidates.query_conflict = [conflict_weight(t) for t in texts]
    candidates.query_syllabic = any(t.syllable for t in tokens)
    candidates.query_abjad_any = any(t.abjad for t in tokens)
    # each query token's (position, text, similar vocabulary tokens, known similarities, abjad, then
    # what ``_late_pair`` needs of it before it can give more than 0: an initial, or a token of
    # ``LATE_PAIR_LENGTH`` letters or more not read as a syllable; its first letter and its phonetic
    # key's, as ``ScreeningIndex.vocab_heads``; read as a syllable)
    candidates.query_rows = [
        ((i,), t.text, candidates.positions[i].sims, candidates.pair_sims[i], t.abjad, len(t.text) == 1,
         len(t.text) >= LATE_PAIR_LENGTH and not t.syllable, t.text[:1], phonetic_key(t.text)[:1], t.syllable)
        for i, t in enumerate(tokens)
    ]
    # the vocabulary ids any query token (or joined pair of them) is similar to
    candidates.similar_ids = set().union(*(p.sims for p in candidates.positions),
                                         *(p.sims for p in candidates.joined))
    candidates.joined_similar = any(p.sims for p in candidates.joined)
    candidates.query_sides = {}


def _query_side(candidates: CandidateSet, qs: tuple[int, ...]) -> QuerySide:
    """What the query's tokens other than ``qs`` cost when ``qs`` alone is aligned, as ``align``
    sums them: their omission costs, the sum of those, the sum of their conflict weights, their texts."""
    uq = [i for i in range(len(candidates.query_texts)) if i not in qs]
    q_omitted, q_conflict, q_texts = candidates.query_omitted, candidates.query_conflict, candidates.query_texts
    q_left = [q_omitted[i] for i in uq]
    side = (q_left, sum(q_left), sum([q_conflict[i] for i in uq]), [q_texts[i] for i in uq])
    candidates.query_sides[qs] = side
    return side


def _align_one(
    item: tuple[float, tuple[int, ...], tuple[int, ...]],
    candidates: CandidateSet,
    listed: IndexedName,
    abjad: bool,
    q_weights: Sequence[float],
    floor: float,
) -> Alignment:
    """``align`` of one aligned pair at or above ``PAIR_FLOOR`` with an indexed name's tables: the same
    arithmetic in the same order, without its loop and sets (no crossed initials: they take two
    pairs). The listed tokens left over are the slices around the pair; the query's come from
    ``_query_side``. Below ``floor``, the score alone, or an upper bound of it still below ``floor``."""
    sim, qs, cs = item
    c_conflict_of = listed.conflict
    c_weights, c_evidence = listed.weights, listed.evidence
    q_weight = q_weights[qs[0]] if len(qs) == 1 else q_weights[qs[0]] + q_weights[qs[1]]
    j = cs[0]
    single = len(cs) == 1  # one listed token in the pair (else two, joined)
    if single:
        listed_weight = c_weights[j]
        evidence = c_evidence[j]
        k = j + 1
    else:
        listed_weight = c_weights[j] + c_weights[j + 1]
        evidence = c_evidence[j] + c_evidence[j + 1]
        k = j + 2
    # the query side scaled as its listed counterpart: the same name on both sides (``align``)
    weight = q_weight * (evidence / listed_weight if listed_weight else 1.0) + evidence
    matched_weight = 0.0 + weight
    gained = 0.0 + sim * weight
    side = candidates.query_sides.get(qs)
    if side is None:
        side = _query_side(candidates, qs)
    q_left, wq, q_conflicting, q_unmatched = side
    if floor > 0.0:
        # an upper bound of the score: the tokens left on both sides in conflict, nothing for the
        # omitted ones (the listed side's conflict from the name's total, equal but for rounding);
        # well below the floor, the candidate is dropped on it
        c_rest = listed.conflict_total - (c_conflict_of[j] if single else c_conflict_of[j] + c_conflict_of[j + 1])
        bound = matched_weight + 2.0 * (q_conflicting + c_rest if candidates.query_syllabic
                                        else min(q_conflicting, c_rest))
        if bound > 0.0 and gained / bound < floor - BOUND_MARGIN:
            return Alignment(gained / bound, [], [], [])
    q_texts, c_texts = candidates.query_texts, listed.texts
    c_whole = j == 0 and k == len(c_texts)  # every listed token in the pair
    if c_whole and not q_unmatched:
        score = gained / matched_weight if matched_weight > 0 else 0.0
    else:
        c_left = listed.omitted[:j] + listed.omitted[k:]
        wc = sum(c_left)
        extra = max(wq, wc) - min(wq, wc)
        c_conflict = listed.conflict
        c_conflicting = sum(c_conflict[:j] + c_conflict[k:])
        if candidates.query_syllabic:
            conflict = q_conflicting + c_conflicting + 0.0
            extra = 0.0
        else:
            conflict = min(q_conflicting, c_conflicting) + 0.0
        c_rarity = listed.commonness
        # one side wholly matched by a pair of full tokens (``align``'s ``contained``)
        if (extra > 0.0 and (not q_unmatched or c_whole) and bool(c_rarity) and not abjad
                and (len(qs) == 2 or len(q_texts[qs[0]]) > 1) and (len(cs) == 2 or len(c_texts[j]) > 1)):
            longer_side = q_left if wq > wc else c_left
            first = min(extra, max(longer_side, default=0.0))
            rarity = c_rarity[j] if len(cs) == 1 else max([c_rarity[j], c_rarity[j + 1]])
            letters = len(c_texts[j]) if len(cs) == 1 else len(c_texts[j]) + len(c_texts[j + 1])
            commonness = min(
                1.0,
                max(0.0, (1.0 - rarity) / _COMMON_SPAN, (SHORT_EVIDENCE - letters) / _HALF_SHORT),
            )
            commonness = max(commonness, SINGLE_MATCH_COMMONNESS)
            first_cost = EXTRA_TOKEN_COST[0] + _FIRST_SPAN * commonness
            further_cost = FURTHER_EXTRA_COST[0] + _FURTHER_SPAN * commonness
            extra_cost = (first_cost * first + further_cost * (extra - first)) * (
                1.0 - CONTAINED_DISCOUNT * (1.0 - commonness))
        else:
            extra_cost = extra
        denominator = matched_weight + 2.0 * conflict + extra_cost
        score = gained / denominator if denominator > 0 else 0.0
    if score < floor:
        return Alignment(score, [], [], [])
    q_text = q_texts[qs[0]] if len(qs) == 1 else " ".join(q_texts[i] for i in qs)
    c_text = c_texts[j] if len(cs) == 1 else " ".join(c_texts[j:k])
    return Alignment(score, [(q_text, c_text, sim)], list(q_unmatched), list(c_texts[:j] + c_texts[k:]))

"""Name alignment of the screening matcher (D3): how a query name scores against a listed name.

The query's tokens are aligned with the listed name's tokens best first (``align``): token
similarities from ``similarity.token_similarity`` (or the candidate index's, ``alignment_indexed.score_indexed``),
initials against full given names, joined against split tokens, in any order; tokens left unmatched
on one side (an omitted middle name) cost less than tokens that conflict on both sides, and less the
rarer the tokens that did match. ``how_matched`` names how an aligned pair matched, for the
explanation of a hit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter

from cloudcip.screening.blocking import CandidateSet
from cloudcip.screening.index import (
    ALTERNATIVE_DISCOUNT,
    LATE_PAIR_LENGTH,  # tokens of a candidate name compared directly from this length (both sides)...
    ScreeningIndex,
    conflict_weight,
    omission_factor,
    token_weight,
)
from cloudcip.screening.names import NormalisedName
from cloudcip.screening.similarity import phonetic_key, skeleton_key, spelled_similarity, token_similarity

INITIAL_MATCH = 0.80  # "J" against "John"
PAIR_FLOOR = 0.76  # token pairs below this are not aligned
LATE_PAIR_FLOOR = 0.86  # ...and aligned from this similarity ("Torrents" / "Torres" 0.85 is another name)
# cost of a token on one side only (a middle name the other side omits), from (rare matched tokens)
# to (common matched tokens); further such tokens cost more than the first
# (commonness: the matched tokens' rarity among listed names and, through ``name_frequency``, among
# people: "Carlos Moreno" against "Carlos Arturo Moreno" is weak, "Ahmed Arafa" against "Ahmed Ibrahim
# Hassan Arafa" strong)
EXTRA_TOKEN_COST = (0.25, 1.0)
FURTHER_EXTRA_COST = (0.45, 1.2)
SHORT_EVIDENCE = 12  # matched letters below which omitted tokens cost more (full cost at half of it)
COMMON_RARITY = 0.7  # rarity of the rarest matched token at or below which the match counts as common
# one side wholly matched (the other has more words: a name given in part) and the matched tokens rare:
# up to this share of the omitted tokens' cost is waived, the rarer the match the more ("EL CORTEZ" /
# "EL CORTEZ RESTAURANT"); look-alikes have words on both sides the other lacks, which this never waives
CONTAINED_DISCOUNT = 0.5
SINGLE_MATCH_COMMONNESS = 0.3  # one matched token is at least this common, however rare ("Iqbal")
# the same, as ``align`` computes with them (the same floating-point values)
_COMMON_SPAN = 1.0 - COMMON_RARITY
_HALF_SHORT = SHORT_EVIDENCE / 2
_FIRST_SPAN = EXTRA_TOKEN_COST[1] - EXTRA_TOKEN_COST[0]
_FURTHER_SPAN = FURTHER_EXTRA_COST[1] - FURTHER_EXTRA_COST[0]
JOINED_DISCOUNT = 0.96  # two tokens on one side against one on the other: a little less certain


# --- name alignment ----------------------------------------------------------------------------


@dataclass(slots=True)
class Alignment:
    score: float
    pairs: list[tuple[str, str, float]]
    unmatched_query: list[str]
    unmatched_listed: list[str]


def align(
    q_texts: Sequence[str],
    q_weights: Sequence[float],
    c_texts: Sequence[str],
    c_weights: Sequence[float],
    pair_sims: list[tuple[float, tuple[int, ...], tuple[int, ...]]],
    c_rarity: Sequence[float] | None = None,
    c_evidence: Sequence[float] | None = None,
    c_omitted: Sequence[float] | None = None,
    c_conflict: Sequence[float] | None = None,
    q_omitted: Sequence[float] | None = None,
    q_conflict: Sequence[float] | None = None,
    syllabic: bool = False,
    abjad: bool = False,
) -> Alignment:
    """Greedy best-first alignment of query tokens with listed tokens; Dice-like weighted score.

    Tokens unmatched on both sides conflict (full cost, twice); tokens on one side only are
    omitted names and cost less, the less the rarer the tokens that did match: "Ismail Haniya"
    against "HANIYA, Ismail Abdul Salah" is strong, "David Gomez" against "GOMEZ ORTIZ, David" weak.
    ``c_evidence``, ``c_omitted``, ``c_conflict``: the listed tokens' weights by ``c_rarity``, the
    same times ``omission_factor`` and their ``conflict_weight``, when the index kept them;
    ``q_omitted``, ``q_conflict``: the same of the query tokens, when the caller kept them.

    One side wholly matched by full tokens (not initials) is a name given in part: its omitted tokens
    cost less the rarer the match (``CONTAINED_DISCOUNT``), one matched token as well. ``syllabic``: a
    Chinese or Korean name read syllable by syllable, where a syllable more or less on either side is
    another name and costs as a contradiction; ``abjad``: tokens compared by consonant skeleton, whose
    matches are looser and earn no such discount.
    """
    if not pair_sims:  # nothing aligned: no weight gained, whatever the costs
        return Alignment(0.0, [], list(q_texts), list(c_texts))
    if len(pair_sims) > 1:
        pair_sims.sort(key=itemgetter(0), reverse=True)  # stable, as a sort on -similarity
    # what a listed token proves, or costs when left out, also depends on how common it is among
    # people (``name_frequency``): "Carlos" proves less than "Khanani"
    if c_evidence is None:
        c_evidence = c_weights
        if c_rarity:
            c_evidence = [token_weight(t, r) for t, r in zip(c_texts, c_rarity, strict=True)]
    if c_omitted is None:
        c_omitted = [c_evidence[j] * omission_factor(c_texts[j]) for j in range(len(c_texts))]
    if c_conflict is None:
        c_conflict = [conflict_weight(t) for t in c_texts]
    used_q: set[int] = set()
    used_c: set[int] = set()
    matched_weight = 0.0
    gained = 0.0
    pairs: list[tuple[str, str, float]] = []
    substantive = 0  # pairs of full tokens (an initial against a full name proves one letter)
    q_initials: list[tuple[int, int]] = []  # (query initial, listed full token) pairs
    c_initials: list[tuple[int, int]] = []  # (query full token, listed initial) pairs
    for sim, qs, cs in pair_sims:
        if sim < PAIR_FLOOR:
            break  # sorted: the rest are below the floor too
        if len(qs) == 1:
            i = qs[0]
            if i in used_q:
                continue
            q_weight = q_weights[i]
            q_text = q_texts[i]
        else:
            if used_q.intersection(qs):
                continue
            q_weight = q_weights[qs[0]] + q_weights[qs[1]]  # as ``sum``: 0 + a + b
            q_text = " ".join(q_texts[i] for i in qs)
        if len(cs) == 1:
            j = cs[0]
            if j in used_c:
                continue
            listed_weight = c_weights[j]
            evidence = c_evidence[j]
            c_text = c_texts[j]
        else:
            if used_c.intersection(cs):
                continue
            listed_weight = c_weights[cs[0]] + c_weights[cs[1]]
            evidence = c_evidence[cs[0]] + c_evidence[cs[1]]
            c_text = " ".join(c_texts[j] for j in cs)
        used_q.update(qs)
        used_c.update(cs)
        # the query side scaled as its listed counterpart: the same name on both sides
        weight = q_weight * (evidence / listed_weight if listed_weight else 1.0) + evidence
        matched_weight += weight
        gained += sim * weight
        pairs.append((q_text, c_text, sim))
        if len(q_text) > 1 and len(c_text) > 1:
            substantive += 1
        elif len(qs) == len(cs) == 1 and len(q_text) != len(c_text):
            (q_initials if len(q_text) == 1 else c_initials).append((qs[0], cs[0]))
    # crossed initials: each side's initial stands for a full given name of the other side, and those
    # two full names differ ("Oluwole A. Ogungbuyi" / "Abeni O. Ogungbuyi": Oluwole is not Abeni)
    crossed = _crossed_initials(q_texts, c_texts, q_initials, c_initials) if q_initials and c_initials else 0.0
    uq = [i for i in range(len(q_texts)) if i not in used_q]
    uc = [j for j in range(len(c_texts)) if j not in used_c]
    if not uq and not uc and not crossed:  # every token matched: nothing omitted, nothing in conflict
        return Alignment(gained / matched_weight if matched_weight > 0 else 0.0, pairs, [], [])
    # a patronymic is left out as often as not ("Vladimir Ivanov" for "Vladimir Petrovich Ivanov")
    q_left = ([q_weights[i] * omission_factor(q_texts[i]) for i in uq] if q_omitted is None
              else [q_omitted[i] for i in uq])
    c_left = [c_omitted[j] for j in uc]
    wq = sum(q_left)
    wc = sum(c_left)
    extra = max(wq, wc) - min(wq, wc)
    # tokens left on both sides contradict each other however common they are ("Miguel Trevino
    # Morales" is not "Omar Trevino Morales"): they cost their full weight, not their rarity's
    # (an organisation's descriptors excepted: "GROUP" against "CASINO" is no contradiction)
    q_conflicting = ([conflict_weight(q_texts[i]) for i in uq] if q_conflict is None
                     else [q_conflict[i] for i in uq])
    conflict = min(sum(q_conflicting), sum([c_conflict[j] for j in uc])) + crossed
    if syllabic:
        # a Chinese or Korean name read syllable by syllable: a syllable more or less on either side
        # is another given name ("Chen Xiang" is not "Chen Mei Xiang"), whatever its frequency
        conflict = sum(q_conflicting) + sum([c_conflict[j] for j in uc]) + crossed
        wq = wc = extra = 0.0
    # an initial against a full name proves one letter: it neither makes two matched names nor a name
    # wholly matched ("G. Simon Barnabas" is not "Simon Gatwick")
    # (only where how rare the match is is known: ``c_rarity``, from the index)
    contained = (not uq or not uc) and substantive == len(pairs) > 0 and bool(c_rarity) and not abjad
    if extra > 0.0 and (substantive >= 2 or contained):  # (nothing omitted costs nothing)
        # one omitted middle name is common; each further one is less so
        longer_side = q_left if wq > wc else c_left
        first = min(extra, max(longer_side, default=0.0))
        rarity = 1.0  # how rare the rarest matched token is, among listed names and among people
        if c_rarity and used_c:
            # one rare matched token is evidence however common the others ("Ismail Haniya")
            rarity = max([c_rarity[j] for j in used_c])
        # little evidence matched: common tokens, or only a few letters ("Li Yu")
        letters = sum([len(c_texts[j]) for j in used_c])
        commonness = min(
            1.0,
            max(0.0, (1.0 - rarity) / _COMMON_SPAN, (SHORT_EVIDENCE - letters) / _HALF_SHORT),
        )
        if substantive < 2:
            commonness = max(commonness, SINGLE_MATCH_COMMONNESS)
        first_cost = EXTRA_TOKEN_COST[0] + _FIRST_SPAN * commonness
        further_cost = FURTHER_EXTRA_COST[0] + _FURTHER_SPAN * commonness
        extra_cost = first_cost * first + further_cost * (extra - first)
        if contained:
            extra_cost *= 1.0 - CONTAINED_DISCOUNT * (1.0 - commonness)
    else:
        extra_cost = extra
    denominator = matched_weight + 2.0 * conflict + extra_cost
    score = gained / denominator if denominator > 0 else 0.0
    return Alignment(score, pairs, [q_texts[i] for i in uq], [c_texts[j] for j in uc])


def _crossed_initials(
    q_texts: Sequence[str], c_texts: Sequence[str], q_initials: list[tuple[int, int]],
    c_initials: list[tuple[int, int]],
) -> float:
    """Conflict weight of initials matched crosswise: a query initial against a listed full token and
    a query full token against a listed initial, in the opposite order on the two sides, where the two
    full tokens are not alike (the lesser of their weights, as two tokens left unmatched on both
    sides); 0 if none. In the same order they may be one name written out on each side ("John A.
    Smith" / "J. Adam Smith")."""
    for q_initial, c_full in q_initials:
        for q_full, c_initial in c_initials:
            if ((q_full < q_initial) != (c_initial < c_full)
                    and token_similarity(q_texts[q_full], c_texts[c_full]) < PAIR_FLOOR):
                return min(conflict_weight(q_texts[q_full]), conflict_weight(c_texts[c_full]))
    return 0.0


def initial_sim(a: str, b: str) -> float:
    if (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)):
        return INITIAL_MATCH
    return 0.0


def query_weights(candidates: CandidateSet, index: ScreeningIndex) -> list[float]:
    """Query token weights: rarity of the listed token each one resembles most (1 if none).

    For a part of a larger index (``index.reference``), the larger index answers, so the weights
    are those of a screen against the whole of it.
    """
    source = index.reference or index
    positions = candidates.positions if index.reference is None else source.query_positions(candidates.query)
    weights = []
    for tok, matches in zip(candidates.query.tokens, positions, strict=True):
        rarity = 1.0
        if matches.sims:
            best = max(matches.sims.items(), key=lambda item: item[1])[0]
            rarity = source.rarity[best]
        weights.append(token_weight(tok.text, rarity))
    return weights


@lru_cache(maxsize=200_000)
def _late_pair(qt: str, ct: str, syllable: bool) -> float:
    """Similarity of a query token and a listed token the blocking keys did not pair (0 if none):
    an initial against a full token, or two long tokens compared directly."""
    if len(qt) == 1 or len(ct) == 1:
        return initial_sim(qt, ct)
    if (min(len(qt), len(ct)) >= LATE_PAIR_LENGTH and not syllable
            and (qt[0] == ct[0] or phonetic_key(qt)[0] == phonetic_key(ct)[0])):  # "kh" / "h"
        # two long tokens the blocking keys did not pair ("industry" / "industries",
        # "vladislavas" / "vladislav"): compared directly, as the name is a candidate anyway
        sim = token_similarity(qt, ct)
        longer, shorter = (qt, ct) if len(qt) > len(ct) else (ct, qt)
        extended = len(longer) - len(shorter) > 1 and longer.startswith(shorter)
        # "Martinez" is not "Martin", "Dmitriyevna" not "Dmitriyev"; "industries" is "industry"
        return sim if sim >= LATE_PAIR_FLOOR and not extended else 0.0
    return 0.0


def score_names(query: NormalisedName, listed: NormalisedName) -> Alignment:
    """Alignment of two normalised names without an index (used by ``compare_names``)."""
    q_texts = [t.text for t in query.tokens]
    c_texts = [t.text for t in listed.tokens]
    items: list[tuple[float, tuple[int, ...], tuple[int, ...]]] = []

    def sim_of(qt: str, q_alts: tuple[str, ...], ct: str, c_alts: tuple[str, ...], abjad: bool) -> float:
        best = token_similarity(qt, ct, abjad)
        for a in q_alts:
            best = max(best, ALTERNATIVE_DISCOUNT * token_similarity(a, ct, abjad))
        for a in c_alts:
            best = max(best, ALTERNATIVE_DISCOUNT * token_similarity(qt, a, abjad))
        if best < PAIR_FLOOR:
            best = max(best, initial_sim(qt, ct))
        return best

    for i, qt in enumerate(query.tokens):
        for j, ct in enumerate(listed.tokens):
            if (qt.is_initial or ct.is_initial) and not (qt.abjad or ct.abjad):
                sim = 1.0 if qt.text == ct.text else initial_sim(qt.text, ct.text)
            else:
                sim = sim_of(qt.text, qt.alternatives, ct.text, ct.alternatives, qt.abjad or ct.abjad)
            items.append((sim, (i,), (j,)))
        for j in range(len(c_texts) - 1):
            joined = c_texts[j] + c_texts[j + 1]
            sim = max(
                [token_similarity(qt.text, joined, qt.abjad)]
                + [ALTERNATIVE_DISCOUNT * token_similarity(a, joined, qt.abjad) for a in qt.alternatives]
            )
            items.append((sim * JOINED_DISCOUNT, (i,), (j, j + 1)))
    for i in range(len(q_texts) - 1):
        joined = q_texts[i] + q_texts[i + 1]
        for j, ct in enumerate(listed.tokens):
            items.append((spelled_similarity(joined, ct.text) * JOINED_DISCOUNT, (i, i + 1), (j,)))
    return align(
        q_texts, [conflict_weight(t) for t in q_texts], c_texts, [conflict_weight(t) for t in c_texts], items,
        syllabic=any(t.syllable for t in query.tokens),
        abjad=any(t.abjad for t in (*query.tokens, *listed.tokens)),
    )


def how_matched(query: str, listed: str, similarity: float) -> str:
    """How two aligned tokens matched, for the explanation."""
    if " " in query or " " in listed:
        return "joined"
    if query == listed:
        return "exact"
    if len(query) == 1 or len(listed) == 1:
        return "initial"
    if phonetic_key(query) == phonetic_key(listed):
        return "phonetic"
    if skeleton_key(query) == skeleton_key(listed) and similarity <= 0.9:
        return "skeleton"
    return "spelling"

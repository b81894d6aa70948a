"""The screening matcher (D3): a query against the candidate index, scored, banded and explained.

``screen(index, query)`` returns at most ``limit`` hits, one per listed party, best first:

* **exact identifiers** first: a document number, email or wallet address found on a listed party
  is a hit with score 1.0 (band ``block``) and the feature named;
* **names**: the index's blocking step gives a few candidate names; each is scored by aligning the
  query tokens with the listed tokens (``name_similarity``): token similarities from
  ``token_similarity`` (Jaro-Winkler + OSA on spelling and phonetic key, consonant skeletons for
  abjad scripts), initials against full given names, joined against split tokens, in any order;
  tokens left unmatched on one side cost less than tokens that conflict on both sides;
* the name score is then adjusted: a weak alias counts less, a mismatching schema (a person against
  an entity) counts less, different legal forms of entities cost a little;
  a date of birth, nationality or gender that agrees raises it, one that contradicts lowers it; for
  entities, a limited-liability company against a joint-stock one, different numbers in the names
  ("TONG HUNG 1" / "TONG HUNG 5") and a jurisdiction (country of registration, a vessel's flag) not
  among the listed party's countries lower it, a jurisdiction among them raises it;
* a name in a non-Latin script is screened under each of its readings (``romanise``): as written
  (generic transliteration) and under every romanisation scheme of its script; the best counts.

Bands come from ``Thresholds`` (``block`` >= 0.92, ``review`` >= 0.80 by default; configurable).
Every hit carries its ``features`` and a human-readable ``explanation``; a name hit also its
``path`` (the reading that matched) and ``pairs`` (which tokens matched and how: exact, phonetic key,
consonant skeleton, initial, joined tokens, spelling), also summarised in ``features["tokens"]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from cloudcip.domain.designated import DesignatedParty
from cloudcip.screening.index import (
    ALTERNATIVE_DISCOUNT,
    CandidateSet,
    IndexedName,
    QueryTokenMatches,
    ScreeningIndex,
    token_weight,
)
from cloudcip.screening.name_words import JOINT_STOCK_FORMS, LIMITED_LIABILITY_FORMS
from cloudcip.screening.names import InvalidNameError, NormalisedName, normalise_name, script_of, validate_name
from cloudcip.screening.romanise import ABJAD_SCRIPTS, SYLLABIC_SCRIPTS, readings
from cloudcip.screening.similarity import phonetic_key, skeleton_key, spelled_similarity, token_similarity

Band = Literal["block", "review", "clear"]
QuerySchema = Literal["Person", "Organization"] | None

INITIAL_MATCH = 0.80  # "J" against "John"
PAIR_FLOOR = 0.76  # token pairs below this are not aligned
LATE_PAIR_LENGTH = 5  # tokens of a candidate name compared directly from this length (both sides)...
LATE_PAIR_FLOOR = 0.86  # ...and aligned from this similarity ("Torrents" / "Torres" 0.85 is another name)
# cost of a token on one side only (a middle name the other side omits), from (rare matched tokens)
# to (common matched tokens); further such tokens cost more than the first
EXTRA_TOKEN_COST = (0.4, 0.7)
FURTHER_EXTRA_COST = (0.6, 1.0)
SHORT_EVIDENCE = 12  # matched letters below which omitted tokens cost more (full cost at half of it)
COMMON_RARITY = 0.7  # mean rarity of matched tokens at or below which they count as common
WEAK_ALIAS_FACTOR = 0.85
SCORED_AT_LEAST = 10  # candidates always given a full score...
TAIL_SHARE = 0.5  # ...the rest only while their blocking score is at least this share of the best
JOINED_DISCOUNT = 0.96  # two tokens on one side against one on the other: a little less certain
SCHEMA_MISMATCH_FACTOR = 0.80
LEGAL_FORM_MISMATCH_FACTOR = 0.97  # different legal-form words that may name the same kind of company
LEGAL_FORM_CONTRADICTION_FACTOR = 0.88  # a limited-liability company against a joint-stock company
NUMBER_MISMATCH_FACTOR = 0.85  # "TONG HUNG 1" against "TONG HUNG 5"
JURISDICTION_AGREES = 0.03
JURISDICTION_CONTRADICTS = -0.06


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Score thresholds of the bands: ``block`` >= block > ``review`` >= review > ``clear``."""

    block: float = 0.92
    review: float = 0.80

    def __post_init__(self) -> None:
        if not 0.0 <= self.review <= self.block <= 1.0:
            raise ValueError("thresholds must satisfy 0 <= review <= block <= 1")

    def band(self, score: float) -> Band:
        if score >= self.block:
            return "block"
        if score >= self.review:
            return "review"
        return "clear"


@dataclass(frozen=True, slots=True)
class ScreeningQuery:
    """Who is screened: a name and whatever else is known of them."""

    name: str
    schema: QuerySchema = None
    birth_date: str | None = None  # ISO "YYYY-MM-DD", "YYYY-MM" or "YYYY"
    nationality: str | None = None  # ISO 3166-1 alpha-2
    gender: str | None = None  # "male" | "female"
    # an entity's country of incorporation or registration (ISO 3166-1 alpha-2); a vessel's flag
    jurisdiction: str | None = None
    document_numbers: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    wallets: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TokenMatch:
    """One aligned pair of a hit: query token(s), listed token(s), similarity, and how they matched
    ("exact", "initial", "phonetic" key, consonant "skeleton", "joined" tokens, "spelling")."""

    query: str
    listed: str
    similarity: float
    how: str


@dataclass(slots=True)
class Hit:
    """One listed party that the query may be, with the evidence.

    ``pairs`` and ``path`` explain a name hit: which tokens matched and how, and under which reading
    of the query's name (``latin``, ``generic-transliteration``, or a romanisation scheme such as
    ``pinyin`` or ``hepburn``). They are the data behind ``explanation``'s first line.
    """

    party_source: str
    party_id: str
    matched_name: str
    score: float
    band: Band
    features: dict[str, float | str]
    explanation: list[str]
    pairs: list[TokenMatch] = field(default_factory=list)
    path: str | None = None


# --- name alignment ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Alignment:
    score: float
    pairs: list[tuple[str, str, float]]
    unmatched_query: list[str]
    unmatched_listed: list[str]


def _align(
    q_texts: list[str],
    q_weights: list[float],
    c_texts: list[str],
    c_weights: list[float],
    pair_sims: list[tuple[float, tuple[int, ...], tuple[int, ...]]],
    c_rarity: list[float] | None = None,
) -> _Alignment:
    """Greedy best-first alignment of query tokens with listed tokens; Dice-like weighted score.

    Tokens unmatched on both sides conflict (full cost, twice); tokens on one side only are
    omitted names and cost less, the less the rarer the tokens that did match: "Ismail Haniya"
    against "HANIYA, Ismail Abdul Salah" is strong, "David Gomez" against "GOMEZ ORTIZ, David" weak.
    """
    pair_sims.sort(key=lambda item: -item[0])
    used_q: set[int] = set()
    used_c: set[int] = set()
    matched_weight = 0.0
    gained = 0.0
    pairs: list[tuple[str, str, float]] = []
    for sim, qs, cs in pair_sims:
        if sim < PAIR_FLOOR or used_q.intersection(qs) or used_c.intersection(cs):
            continue
        used_q.update(qs)
        used_c.update(cs)
        weight = sum(q_weights[i] for i in qs) + sum(c_weights[j] for j in cs)
        matched_weight += weight
        gained += sim * weight
        pairs.append((" ".join(q_texts[i] for i in qs), " ".join(c_texts[j] for j in cs), sim))
    uq = [i for i in range(len(q_texts)) if i not in used_q]
    uc = [j for j in range(len(c_texts)) if j not in used_c]
    wq = sum(q_weights[i] for i in uq)
    wc = sum(c_weights[j] for j in uc)
    extra = max(wq, wc) - min(wq, wc)
    # tokens left on both sides contradict each other however common they are ("Miguel Trevino
    # Morales" is not "Omar Trevino Morales"): they cost their full weight, not their rarity's
    conflict = min(sum(token_weight(q_texts[i]) for i in uq), sum(token_weight(c_texts[j]) for j in uc))
    if len(pairs) >= 2:
        # one omitted middle name is common; each further one is less so
        longer_side = [q_weights[i] for i in uq] if wq > wc else [c_weights[j] for j in uc]
        first = min(extra, max(longer_side, default=0.0))
        matched_c = list(used_c)
        rarity = sum(c_rarity[j] for j in matched_c) / len(matched_c) if c_rarity and matched_c else 1.0
        # little evidence matched: common tokens, or only a few letters ("Li Yu")
        letters = sum(len(c_texts[j]) for j in matched_c)
        commonness = min(
            1.0,
            max(0.0, (1.0 - rarity) / (1.0 - COMMON_RARITY), (SHORT_EVIDENCE - letters) / (SHORT_EVIDENCE / 2)),
        )
        first_cost = EXTRA_TOKEN_COST[0] + (EXTRA_TOKEN_COST[1] - EXTRA_TOKEN_COST[0]) * commonness
        further_cost = FURTHER_EXTRA_COST[0] + (FURTHER_EXTRA_COST[1] - FURTHER_EXTRA_COST[0]) * commonness
        extra_cost = first_cost * first + further_cost * (extra - first)
    else:
        extra_cost = extra
    denominator = matched_weight + 2.0 * conflict + extra_cost
    score = gained / denominator if denominator > 0 else 0.0
    return _Alignment(score, pairs, [q_texts[i] for i in uq], [c_texts[j] for j in uc])


def _initial_sim(a: str, b: str) -> float:
    if (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)):
        return INITIAL_MATCH
    return 0.0


def _query_weights(candidates: CandidateSet, index: ScreeningIndex) -> list[float]:
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


def _score_indexed(
    candidates: CandidateSet,
    listed: IndexedName,
    q_weights: list[float],
    vocab_abjad: list[bool],
    rarity: list[float],
) -> _Alignment:
    query = candidates.query
    q_texts = [t.text for t in query.tokens]
    q_abjad = [t.abjad for t in query.tokens]
    q_syllable = [t.syllable for t in query.tokens]
    c_texts = list(listed.name.texts)
    items: list[tuple[float, tuple[int, ...], tuple[int, ...]]] = []
    positions: list[QueryTokenMatches] = candidates.positions
    for i, qt in enumerate(q_texts):
        sims = positions[i].sims
        for j, vid in enumerate(listed.token_ids):
            sim = sims.get(vid, 0.0)
            for alt in listed.alternative_ids[j]:
                sim = max(sim, sims.get(alt, 0.0) * ALTERNATIVE_DISCOUNT)
            if sim == 0.0 and not (q_abjad[i] or vocab_abjad[vid]):
                ct = c_texts[j]
                if len(qt) == 1 or len(ct) == 1:
                    sim = _initial_sim(qt, ct)
                elif min(len(qt), len(ct)) >= LATE_PAIR_LENGTH and qt[0] == ct[0] and not q_syllable[i]:
                    # two long tokens the blocking keys did not pair ("industry" / "industries",
                    # "vladislavas" / "vladislav"): compared directly, as the name is a candidate anyway
                    sim = token_similarity(qt, ct)
                    longer, shorter = (qt, ct) if len(qt) > len(ct) else (ct, qt)
                    extended = len(longer) - len(shorter) > 1 and longer.startswith(shorter)
                    # "Martinez" is not "Martin", "Dmitriyevna" not "Dmitriyev"; "industries" is "industry"
                    sim = sim if sim >= LATE_PAIR_FLOOR and not extended else 0.0
            if sim >= PAIR_FLOOR:
                items.append((sim, (i,), (j,)))
        for j, vid in enumerate(listed.joined_ids):
            sim = sims.get(vid, 0.0)
            if sim >= PAIR_FLOOR:
                items.append((sim * JOINED_DISCOUNT, (i,), (j, j + 1)))
    for i, pair in enumerate(candidates.joined):
        for j, vid in enumerate(listed.token_ids):
            sim = pair.sims.get(vid, 0.0)
            if sim >= PAIR_FLOOR:
                items.append((sim * JOINED_DISCOUNT, (i, i + 1), (j,)))
    return _align(q_texts, q_weights, c_texts, list(listed.weights), items, [rarity[v] for v in listed.token_ids])


def _score_names(query: NormalisedName, listed: NormalisedName) -> _Alignment:
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
            best = max(best, _initial_sim(qt, ct))
        return best

    for i, qt in enumerate(query.tokens):
        for j, ct in enumerate(listed.tokens):
            if (qt.is_initial or ct.is_initial) and not (qt.abjad or ct.abjad):
                sim = 1.0 if qt.text == ct.text else _initial_sim(qt.text, ct.text)
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
    return _align(
        q_texts, [token_weight(t) for t in q_texts], c_texts, [token_weight(t) for t in c_texts], items
    )


def name_similarity(name1: str, name2: str, schema: QuerySchema = None) -> float:
    """Name score in [0, 1] of two names, with the legal-form penalty for entities: the best over the
    readings of each (as written, and each romanisation scheme of a non-Latin script)."""
    best = 0.0
    for _path1, q in query_readings(name1, schema):
        for _path2, c in query_readings(name2, schema):
            score = _score_names(q, c).score
            if q.legal_forms and c.legal_forms and not set(q.legal_forms) & set(c.legal_forms):
                score *= LEGAL_FORM_MISMATCH_FACTOR
            best = max(best, score)
    return round(min(max(best, 0.0), 1.0), 4)


def compare_names(name1: str, name2: str, schema: str | None = None) -> float:
    """Score in [0, 1] of two names (the ``screen compare`` CLI). ``schema``: Person/Organization/Company.

    Raises ``ValueError`` for empty, huge or binary names.
    """
    kind: QuerySchema
    if schema is None:
        kind = None
    elif schema == "Person":
        kind = "Person"
    elif schema in ("Organization", "Company"):
        kind = "Organization"
    else:
        raise ValueError(f"schema must be Person, Organization or Company, not {schema!r}")
    return name_similarity(name1, name2, kind)


def _how(query: str, listed: str, similarity: float) -> str:
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


# --- corroboration -----------------------------------------------------------------------------


def _date_evidence(query_date: str, listed_dates: list[str]) -> tuple[float, str]:
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


# --- screening ---------------------------------------------------------------------------------


def _validate_query(query: ScreeningQuery) -> None:
    if query.schema not in (None, "Person", "Organization"):
        raise ValueError(f"schema must be Person, Organization or None, not {query.schema!r}")
    has_identifier = bool(query.document_numbers or query.emails or query.wallets)
    if query.name or not has_identifier:
        validate_name(query.name)


def _adjust(
    base: float,
    listed: IndexedName,
    party: DesignatedParty,
    query: ScreeningQuery,
    qname: NormalisedName,
    features: dict[str, float | str],
    explanation: list[str],
) -> float:
    score = base
    if listed.quality == "weak":
        score *= WEAK_ALIAS_FACTOR
        features["weak_alias"] = 1.0
        explanation.append(f"matched a weak alias (x{WEAK_ALIAS_FACTOR})")
    if query.schema is not None and party.schema != "Unknown" and party.schema != query.schema:
        score *= SCHEMA_MISMATCH_FACTOR
        features["schema_mismatch"] = party.schema
        explanation.append(f"query is a {query.schema}, listed party is a {party.schema}")
    if qname.legal_forms or listed.name.legal_forms:
        features["legal_form"] = " ".join(qname.legal_forms) + " / " + " ".join(listed.name.legal_forms)
        q_forms, l_forms = set(qname.legal_forms), set(listed.name.legal_forms)
        if q_forms and l_forms and not q_forms & l_forms:
            if _legal_families(q_forms) and _legal_families(l_forms) and not (
                _legal_families(q_forms) & _legal_families(l_forms)
            ):
                score *= LEGAL_FORM_CONTRADICTION_FACTOR
                features["legal_form_contradiction"] = 1.0
                explanation.append("legal forms contradict (limited-liability against joint-stock company)")
            else:
                score *= LEGAL_FORM_MISMATCH_FACTOR
                explanation.append("legal forms differ (weak evidence)")
    q_numbers = _numbers(qname)
    l_numbers = _numbers(listed.name)
    if q_numbers and l_numbers and not q_numbers & l_numbers:
        score *= NUMBER_MISMATCH_FACTOR
        features["number_mismatch"] = 1.0
        explanation.append("numbers in the names differ (another vessel or entity of a series)")
    if query.jurisdiction and party.schema != "Person":
        listed_countries = _party_countries(party)
        if listed_countries:
            country = query.jurisdiction.upper()
            if country in listed_countries:
                score += JURISDICTION_AGREES
                features["jurisdiction"] = JURISDICTION_AGREES
                explanation.append(f"jurisdiction {country} agrees with the list")
            else:
                score += JURISDICTION_CONTRADICTS
                features["jurisdiction"] = JURISDICTION_CONTRADICTS
                explanation.append(f"jurisdiction {country} not among listed {', '.join(sorted(listed_countries))}")
    if query.birth_date and party.birth_dates:
        delta, why = _date_evidence(query.birth_date, party.birth_dates)
        if why:
            score += delta
            features["birth_date"] = delta
            explanation.append(why)
    if query.nationality and (party.nationalities or party.citizenships):
        listed_countries = {c.upper() for c in (*party.nationalities, *party.citizenships)}
        if query.nationality.upper() in listed_countries:
            score += 0.03
            features["nationality"] = 0.03
            explanation.append(f"nationality {query.nationality.upper()} agrees with the list")
        else:
            score -= 0.05
            features["nationality"] = -0.05
            explanation.append(
                f"nationality {query.nationality.upper()} not among listed {', '.join(sorted(listed_countries))}"
            )
    if query.gender and party.gender:
        if query.gender.lower() == party.gender.lower():
            score += 0.01
            features["gender"] = 0.01
        else:
            score -= 0.10
            features["gender"] = -0.10
            explanation.append(f"gender {query.gender} contradicts listed {party.gender}")
    return min(max(score, 0.0), 1.0)


_NUMBER = re.compile(r"^0*(\d+)(?:st|nd|rd|th)?$")


def _numbers(name: NormalisedName) -> set[str]:
    """The numbers in a name, ordinals as their number ("33RD DIVISION" holds 33)."""
    return {m.group(1) for t in name.texts if (m := _NUMBER.match(t))}


def _legal_families(forms: set[str]) -> set[str]:
    families = set()
    if forms & LIMITED_LIABILITY_FORMS:
        families.add("limited-liability")
    if forms & JOINT_STOCK_FORMS:
        families.add("joint-stock")
    return families


def _party_countries(party: DesignatedParty) -> set[str]:
    """Countries an entity's listing ties it to: nationality (a vessel's flag) and its addresses."""
    countries = {c.upper() for c in (*party.nationalities, *party.citizenships)}
    countries.update(a.country.upper() for a in party.addresses if a.country)
    return countries


def _identifier_hits(index: ScreeningIndex, query: ScreeningQuery) -> dict[int, tuple[str, str]]:
    found: dict[int, tuple[str, str]] = {}
    for number in query.document_numbers:
        for pidx in index.parties_by_document(number):
            found.setdefault(pidx, ("document_number", number))
    for email in query.emails:
        for pidx in index.parties_by_email(email):
            found.setdefault(pidx, ("email", email))
    for wallet in query.wallets:
        for pidx in index.parties_by_wallet(wallet):
            found.setdefault(pidx, ("wallet", wallet))
    return found


def query_readings(name: str, schema: QuerySchema) -> list[tuple[str, NormalisedName]]:
    """The readings a name is screened under: as written (generic transliteration for non-Latin
    scripts), then each romanisation scheme of its script (``romanise.readings``), as (path, name).

    Raises ``InvalidNameError`` for an empty, huge or binary name.
    """
    first = normalise_name(name, schema)
    script = script_of(name)
    out = [("latin" if script in ("Latin", "Unknown") else "generic-transliteration", first)]
    seen = {first.key}
    abjad = script in ABJAD_SCRIPTS
    syllabic = script in SYLLABIC_SCRIPTS
    for reading in readings(name):
        try:
            qname = normalise_name(reading.text, schema)
        except InvalidNameError:
            continue
        if abjad or syllabic:  # compared as the generic path compares that script's tokens
            qname = NormalisedName(
                qname.original,
                tuple(replace(t, abjad=abjad, syllable=syllabic) for t in qname.tokens),
                qname.legal_forms,
            )
        if qname.key == first.key and len(out) == 1:
            out[0] = (reading.path, first)  # the scheme made for the script reads it as anyascii does
        elif qname.key not in seen:
            seen.add(qname.key)
            out.append((reading.path, qname))
    return out


def _screen_name(
    index: ScreeningIndex,
    query: ScreeningQuery,
    qname: NormalisedName,
    path: str,
    thresholds: Thresholds,
    include_clear: bool,
    best: dict[int, Hit],
) -> None:
    """Score the candidates of one reading of the query's name; keep each party's best hit in ``best``."""
    candidates = index.candidates(qname)
    q_weights = _query_weights(candidates, index) if candidates.name_ids else []
    top = candidates.blocking[0] if candidates.blocking else 0.0
    for rank, nid in enumerate(candidates.name_ids):
        if rank >= SCORED_AT_LEAST and candidates.blocking[rank] < TAIL_SHARE * top:
            break  # the rest gathered far less blocking weight than the best candidates
        listed = index.names[nid]
        if listed.party in best and best[listed.party].score >= 1.0:
            continue
        alignment = _score_indexed(candidates, listed, q_weights, index.vocab_abjad, index.rarity)
        if alignment.score < 0.5 * thresholds.review and not include_clear:
            continue
        party = index.parties[listed.party]
        features: dict[str, float | str] = {
            "name": round(alignment.score, 4),
            "path": path,
            "tokens": "; ".join(f"{q}~{c} {_how(q, c, s)}" for q, c, s in alignment.pairs),
        }
        explanation = [
            f"name {alignment.score:.2f} via {path}: "
            + ", ".join(f"{q}~{c} {s:.2f}" for q, c, s in alignment.pairs)
        ]
        if alignment.unmatched_query:
            explanation.append("only in query: " + " ".join(alignment.unmatched_query))
        if alignment.unmatched_listed:
            explanation.append("only in list: " + " ".join(alignment.unmatched_listed))
        score = round(_adjust(alignment.score, listed, party, query, qname, features, explanation), 4)
        previous = best.get(listed.party)
        if previous is None or score > previous.score:
            best[listed.party] = Hit(
                party_source=party.source,
                party_id=party.source_id,
                matched_name=listed.name.original,
                score=score,
                band=thresholds.band(score),
                features=features,
                explanation=explanation,
                pairs=[TokenMatch(q, c, round(s, 4), _how(q, c, s)) for q, c, s in alignment.pairs],
                path=path,
            )


def screen(
    index: ScreeningIndex,
    query: ScreeningQuery,
    thresholds: Thresholds | None = None,
    limit: int = 5,
    include_clear: bool = False,
) -> list[Hit]:
    """Screen one query; hits in the ``block`` and ``review`` bands, best first, one per party.

    ``include_clear`` also returns the best candidates below the review threshold (band ``clear``).
    Raises ``ValueError`` (``InvalidNameError``) for an empty, huge or binary name.
    """
    thresholds = thresholds or Thresholds()
    _validate_query(query)
    best: dict[int, Hit] = {}

    for pidx, (kind, _value) in _identifier_hits(index, query).items():
        party = index.parties[pidx]
        best[pidx] = Hit(
            party_source=party.source,
            party_id=party.source_id,
            matched_name=party.primary_name,
            score=1.0,
            band=thresholds.band(1.0),
            features={kind: 1.0, "identifier": kind},
            explanation=[f"exact {kind.replace('_', ' ')} match"],
        )

    if query.name.strip():
        try:
            qnames = query_readings(query.name, query.schema)
        except InvalidNameError:
            if not best:
                raise
            qnames = []
        for path, qname in qnames:
            _screen_name(index, query, qname, path, thresholds, include_clear, best)

    hits = sorted(best.values(), key=lambda h: -h.score)
    if not include_clear:
        hits = [h for h in hits if h.band != "clear"]
    return hits[:limit]

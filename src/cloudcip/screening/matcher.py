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
  an entity) counts less, a person's first word (the given name) left unmatched on both sides counts
  less (``GIVEN_NAME_CONFLICT_FACTOR``), different legal forms of entities cost a little;
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

The alignment of names is in ``alignment``; the factors and checks of the evidence beyond the name
in ``evidence``; this module holds the query, the hit and the screen itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from cloudcip.domain.designated import DesignatedParty
from cloudcip.screening.alignment import Alignment, how_matched, query_weights, score_names
from cloudcip.screening.alignment_indexed import score_indexed
from cloudcip.screening.evidence import (
    JURISDICTION_AGREES,
    JURISDICTION_AND_FORM_CONTRADICT,
    JURISDICTION_CONTRADICTS,
    LEGAL_FORM_CONTRADICTION_FACTOR,
    LEGAL_FORM_MISMATCH_FACTOR,
    NUMBER_MISMATCH_FACTOR,
    SCHEMA_MISMATCH_FACTOR,
    WEAK_ALIAS_FACTOR,
    date_evidence,
    legal_families,
    name_numbers,
    party_countries,
)
from cloudcip.screening.index import IndexedName, ScreeningIndex
from cloudcip.screening.names import (
    InvalidNameError,
    NameToken,
    NormalisedName,
    normalise_name,
    script_of,
    validate_name,
)
from cloudcip.screening.romanise import ABJAD_SCRIPTS, SYLLABIC_SCRIPTS, readings

Band = Literal["block", "review", "clear"]
QuerySchema = Literal["Person", "Organization"] | None

SCORED_AT_LEAST = 10  # candidates always given a full score...
GIVEN_NAME_CONFLICT_FACTOR = 0.9  # a person's first words unmatched on both sides: another given name
TAIL_SHARE = 0.5  # ...the rest only while their blocking score is at least this share of the best


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


def name_similarity(name1: str, name2: str, schema: QuerySchema = None) -> float:
    """Name score in [0, 1] of two names, with the legal-form penalty for entities: the best over the
    readings of each (as written, and each romanisation scheme of a non-Latin script)."""
    best = 0.0
    for _path1, q in query_readings(name1, schema):
        for _path2, c in query_readings(name2, schema):
            score = score_names(q, c).score
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


# --- screening ---------------------------------------------------------------------------------


def _validate_query(query: ScreeningQuery) -> None:
    if query.schema not in (None, "Person", "Organization"):
        raise ValueError(f"schema must be Person, Organization or None, not {query.schema!r}")
    has_identifier = bool(query.document_numbers or query.emails or query.wallets)
    if query.name or not has_identifier:
        validate_name(query.name)


def _first_names_conflict(alignment: Alignment, listed: IndexedName, qname: NormalisedName) -> bool:
    """Both names' first words (a person's given name) left unmatched, neither a shortening of the
    other ("Ma" for "Maria"): another given name ("TARAK BEN TAHER ... HARZI" is not "ALI BEN TAHER
    ... HARZI", his brother)."""
    if not (alignment.unmatched_query and alignment.unmatched_listed and qname.tokens and listed.name.tokens):
        return False
    q_first, l_first = qname.tokens[0].text, listed.name.tokens[0].text
    return (len(q_first) > 1 and len(l_first) > 1 and q_first in alignment.unmatched_query
            and l_first in alignment.unmatched_listed
            and not (q_first.startswith(l_first) or l_first.startswith(q_first)))


def _adjust(
    base: float,
    alignment: Alignment,
    listed: IndexedName,
    party: DesignatedParty,
    query: ScreeningQuery,
    qname: NormalisedName,
    features: dict[str, float | str],
    explanation: list[str],
    q_numbers: set[str] | None = None,
    nationalities: frozenset[str] | None = None,
) -> float:
    """``base`` adjusted by the evidence beyond the name. ``q_numbers``: ``name_numbers(qname)``, and
    ``nationalities``: the party's nationalities and citizenships upper-cased, when the caller has them
    (``ScreeningIndex.party_nationalities``)."""
    score = base
    if listed.quality == "weak":
        score *= WEAK_ALIAS_FACTOR
        features["weak_alias"] = 1.0
        explanation.append(f"matched a weak alias (x{WEAK_ALIAS_FACTOR})")
    if query.schema is not None and party.schema != "Unknown" and party.schema != query.schema:
        score *= SCHEMA_MISMATCH_FACTOR
        features["schema_mismatch"] = party.schema
        explanation.append(f"query is a {query.schema}, listed party is a {party.schema}")
    elif party.schema == "Person" and query.schema != "Organization" and _first_names_conflict(
            alignment, listed, qname):
        score *= GIVEN_NAME_CONFLICT_FACTOR
        features["given_name_conflict"] = 1.0
        explanation.append(f"given names differ (x{GIVEN_NAME_CONFLICT_FACTOR})")
    if qname.legal_forms or listed.name.legal_forms:
        features["legal_form"] = " ".join(qname.legal_forms) + " / " + " ".join(listed.name.legal_forms)
        q_forms, l_forms = set(qname.legal_forms), set(listed.name.legal_forms)
        if q_forms and l_forms and not q_forms & l_forms:
            if legal_families(q_forms) and legal_families(l_forms) and not (
                legal_families(q_forms) & legal_families(l_forms)
            ):
                score *= LEGAL_FORM_CONTRADICTION_FACTOR
                features["legal_form_contradiction"] = 1.0
                explanation.append("legal forms contradict (limited-liability against joint-stock company)")
            else:
                score *= LEGAL_FORM_MISMATCH_FACTOR
                explanation.append("legal forms differ (weak evidence)")
    if q_numbers is None:
        q_numbers = name_numbers(qname)
    l_numbers = name_numbers(listed.name) if listed.numbers is None else listed.numbers
    if q_numbers and l_numbers and not q_numbers & l_numbers:
        score *= NUMBER_MISMATCH_FACTOR
        features["number_mismatch"] = 1.0
        explanation.append("numbers in the names differ (another vessel or entity of a series)")
    if query.jurisdiction and party.schema != "Person":
        listed_countries = party_countries(party)
        if listed_countries:
            country = query.jurisdiction.upper()
            if country in listed_countries:
                score += JURISDICTION_AGREES
                features["jurisdiction"] = JURISDICTION_AGREES
                explanation.append(f"jurisdiction {country} agrees with the list")
            else:
                # a legal form that differs too is a second sign of another registration: a company is
                # one legal person in one jurisdiction ("SMILEWALLET B.V." in NL / "SMILEWALLET, LLC" in US)
                q_forms, l_forms = set(qname.legal_forms), set(listed.name.legal_forms)
                forms_differ = bool(q_forms and l_forms and not q_forms & l_forms)
                delta = JURISDICTION_AND_FORM_CONTRADICT if forms_differ else JURISDICTION_CONTRADICTS
                score += delta
                features["jurisdiction"] = delta
                explanation.append(f"jurisdiction {country} not among listed {', '.join(sorted(listed_countries))}"
                                   + (" and the legal form differs" if forms_differ else ""))
    if query.birth_date and party.birth_dates:
        delta, why = date_evidence(query.birth_date, party.birth_dates)
        if why:
            score += delta
            features["birth_date"] = delta
            explanation.append(why)
    if query.nationality and (party.nationalities or party.citizenships):
        listed_nationalities = (nationalities if nationalities is not None
                                else frozenset(c.upper() for c in (*party.nationalities, *party.citizenships)))
        if query.nationality.upper() in listed_nationalities:
            score += 0.03
            features["nationality"] = 0.03
            explanation.append(f"nationality {query.nationality.upper()} agrees with the list")
        else:
            score -= 0.05
            features["nationality"] = -0.05
            explanation.append(
                f"nationality {query.nationality.upper()} not among listed {', '.join(sorted(listed_nationalities))}"
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
    first = normalise_name(name, schema, query=True)
    if name.isascii():  # Latin letters only (or none): no romanisation scheme reads it otherwise
        return [("latin", first)]
    script = script_of(name)
    out = [("latin" if script in ("Latin", "Unknown") else "generic-transliteration", first)]
    seen = {first.key}
    abjad = script in ABJAD_SCRIPTS
    syllabic = script in SYLLABIC_SCRIPTS
    for reading in readings(name):
        try:
            qname = normalise_name(reading.text, schema, query=True)
        except InvalidNameError:
            continue
        key = qname.key
        if key == first.key and len(out) == 1:
            out[0] = (reading.path, first)  # the scheme made for the script reads it as anyascii does
        elif key not in seen:
            seen.add(key)
            if abjad or syllabic:  # compared as the generic path compares that script's tokens
                qname = NormalisedName(
                    qname.original,
                    tuple(NameToken(t.text, t.alternatives, abjad=abjad, syllable=syllabic) for t in qname.tokens),
                    qname.legal_forms,
                )
            out.append((reading.path, qname))
    return out


@dataclass(slots=True)
class _Scored:
    """A candidate name's score, kept until the hit is answered (``_hit`` then explains it): most
    scored candidates are outscored or below the bands and are never explained."""

    score: float
    listed: IndexedName
    alignment: Alignment
    path: str
    qname: NormalisedName


def _screen_name(
    index: ScreeningIndex,
    query: ScreeningQuery,
    qname: NormalisedName,
    path: str,
    thresholds: Thresholds,
    include_clear: bool,
    best: dict[int, Hit | _Scored],
) -> None:
    """Score the candidates of one reading of the query's name; keep each party's best in ``best``."""
    candidates = index.candidates(qname)
    q_weights = query_weights(candidates, index) if candidates.name_ids else []
    top = candidates.blocking[0] if candidates.blocking else 0.0
    floor = 0.5 * thresholds.review
    cut = 0.0 if include_clear else floor  # candidates scored below this are dropped
    names, parties, nationalities = index.names, index.parties, index.party_nationalities
    q_numbers = name_numbers(qname)
    # a query in Latin script is not compared with a listed name in Arabic or Hebrew script of a party
    # also listed under a name in another script (in practice Latin): consonant skeletons (for queries
    # in those scripts) are a loose comparison, and the party's other names decide ("Jenna Ollila" is
    # not "ولی جان", Wali Jan)
    skipped = index.abjad_names_of_latin_named if path == "latin" else frozenset()
    for rank, nid in enumerate(candidates.name_ids):
        if rank >= SCORED_AT_LEAST and candidates.blocking[rank] < TAIL_SHARE * top:
            break  # the rest gathered far less blocking weight than the best candidates
        listed = names[nid]
        previous = best.get(listed.party)
        if previous is not None and previous.score >= 1.0:
            continue
        if nid in skipped:
            continue
        alignment = score_indexed(candidates, listed, q_weights, index.vocab_abjad, index.vocab_heads, cut)
        if alignment.score < cut:
            continue  # (its pairs and unmatched tokens are not filled in: ``score_indexed``)
        # the features and the explanation are written when the hit is answered (``_hit``)
        score = round(_adjust(alignment.score, alignment, listed, parties[listed.party], query, qname, {}, [],
                              q_numbers, nationalities[listed.party]), 4)
        if previous is None or score > previous.score:
            best[listed.party] = _Scored(score, listed, alignment, path, qname)


def _hit(index: ScreeningIndex, query: ScreeningQuery, scored: _Scored, thresholds: Thresholds) -> Hit:
    """The hit of a scored candidate name, with its features and explanation."""
    alignment, listed, path = scored.alignment, scored.listed, scored.path
    party = index.parties[listed.party]
    features: dict[str, float | str] = {
        "name": round(alignment.score, 4),
        "path": path,
        "tokens": "; ".join(f"{q}~{c} {how_matched(q, c, s)}" for q, c, s in alignment.pairs),
    }
    explanation = [
        f"name {alignment.score:.2f} via {path}: " + ", ".join(f"{q}~{c} {s:.2f}" for q, c, s in alignment.pairs)
    ]
    if alignment.unmatched_query:
        explanation.append("only in query: " + " ".join(alignment.unmatched_query))
    if alignment.unmatched_listed:
        explanation.append("only in list: " + " ".join(alignment.unmatched_listed))
    score = round(_adjust(alignment.score, alignment, listed, party, query, scored.qname, features, explanation), 4)
    return Hit(
        party_source=party.source,
        party_id=party.source_id,
        matched_name=listed.name.original,
        score=score,
        band=thresholds.band(score),
        features=features,
        explanation=explanation,
        pairs=[TokenMatch(q, c, round(s, 4), how_matched(q, c, s)) for q, c, s in alignment.pairs],
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
    best: dict[int, Hit | _Scored] = {}

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

    ranked = sorted(best.values(), key=lambda h: -h.score)
    if not include_clear:
        ranked = [h for h in ranked if thresholds.band(h.score) != "clear"]
    return [h if isinstance(h, Hit) else _hit(index, query, h, thresholds) for h in ranked[:limit]]

"""The screening service: the in-force lists and measures, applied to one person or entity (D1, D3, D4).

``ScreeningService`` holds a ``ScreeningIndex`` built from the in-force snapshot of every list
source, and rebuilds it when the set of in-force snapshots changes (checked at most every
``check_interval`` seconds of the injected clock, or at once after ``invalidate``).
``screen_person`` combines the matcher's hits with the special measures that apply: jurisdiction
measures whose country or subdivision the person is connected to, and person measures naming a
listed entry the person matches or a described person the person resembles. Given the person's
``Standing`` (A2 determination and D2 location decision), a jurisdiction measure applies only to a
foreign person located in the jurisdiction (``screening.reach``); the other outcomes (review,
not located, not reached) are kept in ``ScreeningResult.measures_considered`` with their reasons.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection

from cloudcip import clock
from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.errors import FieldIssue, InvalidInput
from cloudcip.metrics import SCREENING_SECONDS
from cloudcip.screening.index import ScreeningIndex
from cloudcip.screening.matcher import Band, Hit, QuerySchema, ScreeningQuery, Thresholds, screen
from cloudcip.screening.measures import Measure, list_measures
from cloudcip.screening.reach import Standing, jurisdiction_reach
from cloudcip.screening.snapshots import in_force_snapshots, snapshot_parties
from cloudcip.services import Services

Monotonic = Callable[[], float]
Today = Callable[[], date]
BAND_ORDER: dict[Band, int] = {"clear": 0, "review": 1, "block": 2}


class QueryFieldError(InvalidInput, ValueError):
    """A screening input other than the name that cannot be used; ``field`` names it (422)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(fields=[FieldIssue(field, reason)])


def check_query_fields(birth_date: str | None, nationality: str | None) -> None:
    """Refuse a birth date that is not YYYY[-MM[-DD]] or a nationality that is not two letters."""
    if nationality is not None and not (len(nationality) == 2 and nationality.isascii() and nationality.isalpha()):
        raise QueryFieldError("nationality", "must be an ISO 3166-1 alpha-2 code")
    if birth_date is not None:
        parts = birth_date.split("-")
        try:
            valid = (1 <= len(parts) <= 3 and len(parts[0]) == 4 and all(p.isascii() and p.isdigit() for p in parts)
                     and bool(date(int(parts[0]), int(parts[1]) if len(parts) > 1 else 1,
                                   int(parts[2]) if len(parts) > 2 else 1)))
        except ValueError:
            valid = False
        if not valid:
            raise QueryFieldError("birth_date", "must be YYYY-MM-DD, YYYY-MM or YYYY")


@dataclass(frozen=True)
class MeasureApplying:
    """A measure considered for the screened person: whether it applies (``outcome``), and why: the
    basis, the jurisdiction and its evidence (field names and strengths), the determination (D1)."""

    measure: Measure
    status: str  # determined | in_force
    basis: str  # e.g. "jurisdiction IR (located)", "listed entry ofac-sdn:123", "described person 0.93"
    outcome: str = "applies"  # applies | review | not_located | not_reached
    subject: str = "customer"
    jurisdiction: str | None = None
    evidence: str = ""  # "address_country (strong), nationalities (weak)"
    determination: str = "foreign_person (undetermined)"
    located_in: str | None = None

    @property
    def applies(self) -> bool:
        return self.outcome == "applies"

    def as_json(self) -> dict[str, Any]:
        return {"id": self.measure.id, "kind": self.measure.kind, "measure": self.measure.measure,
                "conditions": self.measure.conditions, "status": self.status,
                "effective_date": self.measure.effective_date.isoformat(),
                "expires_on": self.measure.expires_on.isoformat(), "basis": self.basis, "outcome": self.outcome,
                "subject": self.subject, "jurisdiction": self.jurisdiction, "evidence": self.evidence,
                "determination": self.determination, "located_in": self.located_in}


@dataclass
class ScreeningResult:
    band: Band
    hits: list[Hit]
    measures_applying: list[MeasureApplying] = field(default_factory=list)
    # every measure the person is connected to, whatever the outcome (applies, review, not located ...)
    measures_considered: list[MeasureApplying] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "band": self.band,
            "hits": [hit_json(h) for h in self.hits],
            "measures_applying": [m.as_json() for m in self.measures_applying],
            "measures_considered": [m.as_json() for m in self.measures_considered],
        }


def hit_json(hit: Hit) -> dict[str, Any]:
    return {"list_source": hit.party_source, "list_source_id": hit.party_id, "matched_name": hit.matched_name,
            "score": hit.score, "band": hit.band, "features": hit.features, "explanation": hit.explanation}


@dataclass(frozen=True)
class _Loaded:
    key: tuple[tuple[str, str], ...]
    index: ScreeningIndex
    party_hashes: dict[tuple[str, str], str]
    measures: list[Measure]
    measure_index: ScreeningIndex  # described persons of person measures (source "measure")


ScreeningState = _Loaded


class ScreeningService:
    """The in-force index and measures of one process; thread-safe; rebuilt when they change."""

    def __init__(
        self,
        services: Services,
        *,
        thresholds: Thresholds | None = None,
        check_interval: float = 2.0,
        monotonic: Monotonic = time.monotonic,
        today: Today = clock.today,
    ) -> None:
        self.services = services
        self.thresholds = thresholds or Thresholds()
        self.check_interval = check_interval
        self._monotonic = monotonic
        self._today = today
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._checked_at: float | None = None
        self.rebuilds = 0

    # -- state ----------------------------------------------------------------------------------
    def invalidate(self) -> None:
        """Check the in-force snapshots and measures again before the next screening."""
        with self._lock:
            self._checked_at = None

    @staticmethod
    def _state_key(conn: Connection) -> tuple[tuple[str, str], ...]:
        snaps = tuple(sorted((s.source, s.id) for s in in_force_snapshots(conn)))
        measures = tuple(sorted(
            ("measure:" + m.id, f"{m.expires_on}|{m.revoked_at}") for m in list_measures(conn)
        ))
        return snaps + measures

    def _current(self) -> _Loaded:
        with self._lock:
            now = self._monotonic()
            if (self._loaded is not None and self._checked_at is not None
                    and now - self._checked_at < self.check_interval):
                return self._loaded
            with self.services.database.engine.connect() as conn:
                key = self._state_key(conn)
                if self._loaded is None or key != self._loaded.key:
                    self._loaded = self._build(conn, key)
                    self.rebuilds += 1
            self._checked_at = now
            return self._loaded

    def _build(self, conn: Connection, key: tuple[tuple[str, str], ...]) -> _Loaded:
        parties: list[DesignatedParty] = []
        hashes: dict[tuple[str, str], str] = {}
        for snapshot in in_force_snapshots(conn):
            for party, digest in snapshot_parties(conn, snapshot.id):
                parties.append(party)
                hashes[(party.source, party.source_id)] = digest
        measures = [m for m in list_measures(conn) if m.revoked_at is None]
        return _Loaded(key, ScreeningIndex(parties), hashes, measures, described_person_index(measures))

    @property
    def index(self) -> ScreeningIndex:
        return self._current().index

    def party_hash(self, source: str, source_id: str) -> str | None:
        """The document hash of an in-force list entry (None for entries no longer listed)."""
        return self._current().party_hashes.get((source, source_id))

    def measures(self) -> list[Measure]:
        return list(self._current().measures)

    # -- screening ------------------------------------------------------------------------------
    def screen_query(self, query: ScreeningQuery, limit: int = 5) -> list[Hit]:
        return screen(self._current().index, query, self.thresholds, limit=limit)

    def screen_person(
        self,
        name: str,
        birth_date: str | None = None,
        nationality: str | None = None,
        *,
        schema: QuerySchema = None,
        gender: str | None = None,
        document_numbers: Sequence[str] = (),
        emails: Sequence[str] = (),
        wallets: Sequence[str] = (),
        jurisdictions: Iterable[str] = (),
        standing: Standing | None = None,
        limit: int = 5,
        on: date | None = None,
    ) -> ScreeningResult:
        """Hits against the in-force lists plus the measures that apply (not revoked, not expired).

        ``standing``: the person's determination and location decision; a jurisdiction measure then
        applies only to a foreign person located there (D1, D2). Without it, ``jurisdictions`` are
        taken as places the caller states the person is located in. A nationality alone never
        brings a jurisdiction measure. Raises ``ValueError`` (``InvalidNameError``) for an empty,
        huge or binary name, and ``QueryFieldError`` for a malformed birth date or nationality.
        """
        check_query_fields(birth_date, nationality)
        loaded = self._current()
        query = ScreeningQuery(
            name=name, schema=schema, birth_date=birth_date, nationality=nationality, gender=gender,
            document_numbers=list(document_numbers), emails=list(emails), wallets=list(wallets),
        )
        with SCREENING_SECONDS.time():
            hits = screen(loaded.index, query, self.thresholds, limit=limit)
        codes = {c.upper() for c in jurisdictions if c}
        considered = measures_considered(loaded.measures, loaded.measure_index, query, hits, codes,
                                         on or self._today(), self.thresholds, standing)
        band: Band = "clear"
        for hit in hits:
            if BAND_ORDER[hit.band] > BAND_ORDER[band]:
                band = hit.band
        return ScreeningResult(band, hits, [m for m in considered if m.applies], considered)

    def state(self) -> ScreeningState:
        """The in-force index, entry hashes and measures (rebuilt first when they changed)."""
        return self._current()


def measures_applying(measures: Sequence[Measure], measure_index: ScreeningIndex, query: ScreeningQuery,
                      hits: list[Hit], codes: set[str], today: date, thresholds: Thresholds,
                      standing: Standing | None = None) -> list[MeasureApplying]:
    """The measures of ``measures`` (determined or in force on ``today``) that apply to the screened
    person (``measures_considered`` whose outcome is ``applies``)."""
    return [m for m in measures_considered(measures, measure_index, query, hits, codes, today, thresholds, standing)
            if m.applies]


def measures_considered(measures: Sequence[Measure], measure_index: ScreeningIndex, query: ScreeningQuery,
                        hits: list[Hit], codes: set[str], today: date, thresholds: Thresholds,
                        standing: Standing | None = None) -> list[MeasureApplying]:
    """Every measure (determined or in force on ``today``) the screened person is connected to, with
    its outcome: by jurisdiction (``standing``'s location decision and determination, D1/D2; or, with
    no standing, the ``codes`` the caller states), by a listed entry among ``hits``, or by
    resemblance to a measure's described person (``measure_index``) (D1, D4)."""
    applying: list[MeasureApplying] = []
    subject = standing.subject if standing is not None else "customer"
    determination = standing.determination if standing is not None else "foreign_person (undetermined)"
    located_in = standing.location.located_in if standing is not None else None
    hit_keys = {(h.party_source, h.party_id): h for h in hits}
    described_hits: dict[str, Hit] = {}
    if any(m.described_person() is not None for m in measures):
        try:
            for hit in screen(measure_index, query, thresholds, limit=20):
                described_hits[hit.party_id] = hit
        except ValueError:
            described_hits = {}
    for measure in measures:
        status = measure.status(today)
        if status not in ("determined", "in_force"):
            continue
        basis: str | None = None
        if measure.kind == "jurisdiction":
            if standing is not None:
                reach = jurisdiction_reach(measure.covered, standing)
                if reach is not None:
                    applying.append(MeasureApplying(measure, status, reach.basis, reach.outcome, subject,
                                                    reach.finding.code, reach.finding.evidence_text, determination,
                                                    located_in))
                continue
            matched = sorted(c for c in codes if measure.applies_to_jurisdiction(c))
            if matched:
                applying.append(MeasureApplying(measure, status, "jurisdiction " + ", ".join(matched), "applies",
                                                subject, matched[0], "stated by the caller", determination))
            continue
        else:
            entry = measure.listed_entry()
            if entry is not None and entry in hit_keys:
                basis = f"listed entry {entry[0]}:{entry[1]} (score {hit_keys[entry].score:.2f})"
            elif measure.id in described_hits:
                basis = f"described person (score {described_hits[measure.id].score:.2f})"
        if basis is not None:
            applying.append(MeasureApplying(measure, status, basis, "applies", subject, None, "", determination,
                                            located_in))
    return applying


def described_person_index(measures: Iterable[Measure]) -> ScreeningIndex:
    """The index of the persons that person measures describe (source ``measure``, id = measure id)."""
    described = []
    for measure in measures:
        person = measure.described_person()
        if person is not None:
            described.append(DesignatedParty(
                source="measure", source_id=measure.id, schema="Person", names=[ListedName(person.name)],
                birth_dates=[person.birth_date] if person.birth_date else [],
                nationalities=[person.nationality] if person.nationality else [],
            ))
    return ScreeningIndex(described)


def compare_pair(name1: str, name2: str, schema: str | None, thresholds: Thresholds | None = None) -> dict[str, Any]:
    """``score`` and ``match`` (at the review threshold) of two names, for ``screen compare``."""
    from cloudcip.screening.matcher import compare_names

    score = compare_names(name1, name2, schema)
    limit = (thresholds or Thresholds()).review
    return {"score": round(score, 4), "match": score >= limit}

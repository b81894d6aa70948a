"""Who a special measure reaches (D1, D2, D4; EO 13984 sec. 2(c)(i)).

A **jurisdiction** measure reaches a *foreign person located in the jurisdiction*: the person's A2
determination must be foreign (undetermined counts as foreign) and the location decision of D2
(``screening.location.decide_location``) must place the person there. A U.S. person (citizen,
permanent resident, U.S. entity, or a person located in the United States) is never reached by a
jurisdiction measure; a foreign person merely connected to the jurisdiction by weak evidence (a
nationality, one signup address) is not located there; weak or conflicting evidence is neither:
the case goes to a person (review with enhanced verification), naming the evidence.

A **person** measure reaches whoever it names (a listed entry matched, a described person
resembled), U.S. persons included.

Every outcome names the measure, the jurisdiction and the evidence (field names and strengths,
never values) and the determination it rests on, so each decision and each measure effect can say
why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cloudcip.screening.location import NOWHERE, Finding, LocationDecision
from cloudcip.screening.matcher import Hit

#: the list source of a hit asking a person whether a special measure reaches a subject
MEASURE_SOURCE = "special_measure"

Outcome = Literal["applies", "review", "not_located", "not_reached"]
OUTCOMES: tuple[str, ...] = ("applies", "review", "not_located", "not_reached")


@dataclass(frozen=True)
class Standing:
    """What D1 needs of one screened person: who (``subject``), the A2 determination and the D2
    location decision."""

    subject: str = "customer"
    status: str = "foreign_person"  # us_person | foreign_person
    basis: str = "undetermined"
    location: LocationDecision = NOWHERE

    @property
    def determination(self) -> str:
        """``foreign_person (foreign)``, ``us_person (us_citizen)``."""
        return f"{self.status} ({self.basis})"

    @property
    def is_us_person(self) -> bool:
        return self.status == "us_person"


@dataclass(frozen=True)
class JurisdictionReach:
    """A jurisdiction measure considered for one person: the outcome and what it rests on."""

    outcome: Outcome
    finding: Finding

    @property
    def basis(self) -> str:
        return f"jurisdiction {self.finding.code} ({self.finding.verdict})"


def jurisdiction_reach(covered: tuple[str, ...], standing: Standing) -> JurisdictionReach | None:
    """How a jurisdiction measure covering ``covered`` reaches the person; ``None`` when no evidence
    connects the person to it at all."""
    finding = standing.location.for_measure(covered)
    if finding is None:
        return None
    if standing.is_us_person:
        return JurisdictionReach("not_reached", finding)
    if finding.verdict == "located":
        return JurisdictionReach("applies", finding)
    if finding.verdict == "unresolved":
        return JurisdictionReach("review", finding)
    return JurisdictionReach("not_located", finding)


def explain(outcome: str, measure_id: str, jurisdiction: str | None, evidence: str, determination: str,
            located_in: str | None) -> str:
    """One reason line for an application's answer or an effect, e.g.
    ``measure_review:<id>:IR: evidence conflicts (...); foreign_person (foreign); located in DE``."""
    where = f"; located in {located_in}" if located_in else "; located nowhere by the evidence"
    place = f":{jurisdiction}" if jurisdiction else ""
    if outcome == "applies":
        return f"measure_applies:{measure_id}{place}: {evidence}; {determination}{where}"
    if outcome == "review":
        return (f"measure_review:{measure_id}{place}: weak or conflicting location evidence ({evidence}); "
                f"{determination}{where}; enhanced verification required")
    if outcome == "not_located":
        return f"measure_not_applied:{measure_id}{place}: not located there ({evidence}){where}"
    return f"measure_not_reached:{measure_id}{place}: a jurisdiction measure does not reach a U.S. person " \
           f"({determination})"


def review_hit(measure_id: str, measure: str, jurisdiction: str | None, evidence: str, determination: str,
               located_in: str | None) -> Hit:
    """A ``review`` hit (entry ``special_measure:<id>``) putting before a person whether a jurisdiction
    measure reaches the subject, when the location evidence is weak or conflicting (D2, D5)."""
    text = explain("review", measure_id, jurisdiction, evidence, determination, located_in)
    return Hit(MEASURE_SOURCE, measure_id, f"special measure {measure_id}", 1.0, "review",
               {"measure": measure, "jurisdiction": jurisdiction or "", "evidence": evidence,
                "determination": determination}, [text])

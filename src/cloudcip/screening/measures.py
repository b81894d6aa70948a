"""The register of special measures (D1), and which measures apply to a screened person (D4).

A measure is a **jurisdiction** measure (an ISO 3166-1 country, an ISO 3166-2 subdivision, or a
named sanctioned region such as ``crimea``) or a **person** measure (a listed entry
``source:source_id``, or a described person as JSON: name, birth date, nationality), and either a
**prohibition** or a set of **conditions** (``enhanced_verification``, ``no_new_resources``, ...).

Dates follow the regulatory profile (``special_measures`` of the profile YAML): the effective date
defaults to determination + the lead time (180 days) and may not be earlier; the duration defaults
to 365 days; ``extend`` adds days with a reason; ``revoke`` ends a measure. Reseller Accounts are
covered unless the measure says otherwise. Every change is a ledger entry in the same transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import pycountry
import yaml
from sqlalchemy import Connection, insert, select, update

from cloudcip import clock as clocks
from cloudcip.clock import Clock
from cloudcip.errors import FieldIssue, NotFound, Refused
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.roles import Actor
from cloudcip.screening.location import SANCTIONED_REGIONS
from cloudcip.screening.schema import special_measure
from cloudcip.services import Services

MeasureKind = Literal["jurisdiction", "person"]
MeasureType = Literal["prohibit", "conditions"]
MeasureStatus = Literal["determined", "in_force", "expired", "revoked"]

CONDITIONS: frozenset[str] = frozenset({
    "enhanced_verification", "no_new_resources", "no_gpu", "payment_methods_restricted",
    "enhanced_monitoring",
})
# named regions under sanctions programs (as ``location.locate`` names them), with their ISO 3166-2
# subdivisions; a few spelled-out aliases are accepted and stored under the region's name
REGIONS: dict[str, tuple[str, ...]] = {
    region: tuple(sorted(code for code, name in SANCTIONED_REGIONS.items() if name == region))
    for region in sorted(set(SANCTIONED_REGIONS.values()))
}
REGION_ALIASES: dict[str, str] = {"donetsk": "dnr", "luhansk": "lnr", "sevastopol": "crimea"}
MAX_DAYS = 3650
MAX_REASON = 500


class MeasureRefused(Refused, ValueError):
    """The measure or change breaks a rule of the register; ``field`` names the input at fault (422)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(fields=[FieldIssue(field, reason)])
        self.reason = reason


class MeasureNotFound(NotFound, LookupError):
    """No measure with that id (404)."""

    def __init__(self, measure_id: str = "") -> None:
        super().__init__("no such measure")
        self.measure_id = measure_id


@dataclass(frozen=True)
class MeasureDefaults:
    """The profile's numbers for D1."""

    lead_time_days: int = 180
    duration_days: int = 365

    @classmethod
    def from_profile(cls, profile: str) -> MeasureDefaults:
        """The ``special_measures`` section of the named shipped profile (defaults when absent)."""
        try:
            from cloudcip import profiles

            section = (yaml.safe_load(profiles.profile_text(profile)) or {}).get("special_measures") or {}
        except (KeyError, ImportError, AttributeError, yaml.YAMLError):
            return cls()
        return cls(int(section.get("lead_time_days", cls.lead_time_days)),
                   int(section.get("duration_days", cls.duration_days)))


@dataclass(frozen=True)
class DescribedPerson:
    """A person named in a measure who is on no list."""

    name: str
    birth_date: str | None = None
    nationality: str | None = None


@dataclass
class Measure:
    id: str
    kind: MeasureKind
    target: str
    measure: MeasureType
    conditions: list[str]
    description: str | None
    determination_date: date
    effective_date: date
    duration_days: int
    expires_on: date
    extensions: list[dict[str, Any]]
    covers_resellers: bool
    created_at: datetime
    revoked_at: datetime | None
    revocation_reason: str | None
    covered: tuple[str, ...] = field(default=())  # jurisdiction codes the target stands for

    def status(self, today: date) -> MeasureStatus:
        if self.revoked_at is not None:
            return "revoked"
        if today < self.effective_date:
            return "determined"
        if today >= self.expires_on:
            return "expired"
        return "in_force"

    def described_person(self) -> DescribedPerson | None:
        if self.kind != "person" or not self.target.startswith("{"):
            return None
        data = json.loads(self.target)
        return DescribedPerson(str(data["name"]), data.get("birth_date"), data.get("nationality"))

    def listed_entry(self) -> tuple[str, str] | None:
        if self.kind != "person" or self.target.startswith("{"):
            return None
        source, _, source_id = self.target.partition(":")
        return source, source_id

    def applies_to_jurisdiction(self, code: str) -> bool:
        """Whether a person connected to ``code`` (country or subdivision) falls under this measure."""
        if self.kind != "jurisdiction":
            return False
        code = code.upper()
        return any(covered == code or (len(covered) == 2 and code.startswith(covered + "-"))
                   for covered in self.covered)

    def as_json(self, today: date | None = None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id, "kind": self.kind, "target": self.target, "measure": self.measure,
            "conditions": self.conditions, "description": self.description,
            "determination_date": self.determination_date.isoformat(),
            "effective_date": self.effective_date.isoformat(), "duration_days": self.duration_days,
            "expires_on": self.expires_on.isoformat(), "extensions": self.extensions,
            "covers_resellers": self.covers_resellers, "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revocation_reason": self.revocation_reason,
        }
        if self.kind == "jurisdiction":
            document["covers"] = list(self.covered)
        if today is not None:
            document["status"] = self.status(today)
        return document


# --- validation ---------------------------------------------------------------------------------


def _subdivision_exists(code: str) -> bool:
    found: object = pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
    return found is not None


def jurisdiction_codes(target: str) -> tuple[str, ...]:
    """The ISO codes a jurisdiction target stands for; ``MeasureRefused`` when it is not one."""
    text = target.strip()
    name = REGION_ALIASES.get(text.lower(), text.lower())
    if name in REGIONS:
        return (name.upper(), *REGIONS[name])
    code = text.upper()
    if len(code) == 2 and code.isalpha():
        if pycountry.countries.get(alpha_2=code) is None:
            raise MeasureRefused("target", f"{code} is not an ISO 3166-1 country code")
        return (code,)
    if "-" in code and _subdivision_exists(code):
        return (code,)
    raise MeasureRefused("target", f"{text[:40]!r} is not an ISO 3166 country or subdivision code, nor a named "
                                   f"region ({', '.join(sorted(REGIONS))})")


def _person_target(target: str | dict[str, Any]) -> str:
    if isinstance(target, dict):
        name = target.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 300:
            raise MeasureRefused("target.name", "a described person needs a name of 1 to 300 characters")
        birth = target.get("birth_date")
        if birth is not None and not _is_partial_date(str(birth)):
            raise MeasureRefused("target.birth_date", "must be YYYY-MM-DD, YYYY-MM or YYYY")
        nationality = target.get("nationality")
        if nationality is not None and (not isinstance(nationality, str)
                                        or pycountry.countries.get(alpha_2=nationality.upper()) is None):
            raise MeasureRefused("target.nationality", "must be an ISO 3166-1 alpha-2 code")
        unknown = set(target) - {"name", "birth_date", "nationality"}
        if unknown:
            raise MeasureRefused("target", f"unknown field(s) {', '.join(sorted(unknown))}")
        clean = {"name": name.strip(), "birth_date": birth, "nationality": nationality.upper() if nationality else None}
        return json.dumps(clean, sort_keys=True, ensure_ascii=False)
    text = target.strip()
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MeasureRefused("target", "a described person must be a JSON object") from exc
        if not isinstance(loaded, dict):
            raise MeasureRefused("target", "a described person must be a JSON object")
        return _person_target(loaded)
    source, sep, source_id = text.partition(":")
    if not sep or not source or not source_id or len(text) > 200:
        raise MeasureRefused("target", "a person target is a list entry SOURCE:SOURCE_ID or a described person "
                                       "JSON object with a name")
    return text


def _is_partial_date(text: str) -> bool:
    parts = text.split("-")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        return False
    try:
        date(int(parts[0]), int(parts[1]) if len(parts) > 1 else 1, int(parts[2]) if len(parts) > 2 else 1)
    except ValueError:
        return False
    return True


def _check_days(name: str, days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise MeasureRefused(name, f"must be between 1 and {MAX_DAYS} days")
    return days


def _check_reason(reason: str | None, required: bool = True) -> str | None:
    if reason is None or not reason.strip():
        if required:
            raise MeasureRefused("reason", "a reason is required")
        return None
    reason = reason.strip()
    if len(reason) > MAX_REASON or not reason.isprintable():
        raise MeasureRefused("reason", f"at most {MAX_REASON} printable characters")
    return reason


# --- the register -------------------------------------------------------------------------------


def _measure(row: Any) -> Measure:
    measure = Measure(
        id=row.id, kind=row.kind, target=row.target, measure=row.measure,
        conditions=json.loads(row.conditions_json), description=row.description,
        determination_date=row.determination_date, effective_date=row.effective_date,
        duration_days=row.duration_days, expires_on=row.expires_on,
        extensions=json.loads(row.extensions_json), covers_resellers=bool(row.covers_resellers),
        created_at=row.created_at, revoked_at=row.revoked_at, revocation_reason=row.revocation_reason,
    )
    if measure.kind == "jurisdiction":
        try:
            measure.covered = jurisdiction_codes(measure.target)
        except MeasureRefused:
            measure.covered = ()
    return measure


@dataclass(frozen=True)
class _CheckedMeasure:
    stored_target: str
    conditions: list[str]
    effective_date: date
    duration_days: int
    description: str | None


def _checked(services: Services, *, kind: str, target: str | dict[str, Any], measure: str, determination_date: date,
             conditions: Iterable[str], effective_date: date | None, duration_days: int | None,
             description: str | None, defaults: MeasureDefaults | None) -> _CheckedMeasure:
    """The measure as the register would store it; ``MeasureRefused`` naming the field at fault."""
    defaults = defaults or MeasureDefaults.from_profile(services.settings.profile)
    if kind not in ("jurisdiction", "person"):
        raise MeasureRefused("kind", "must be jurisdiction or person")
    if measure not in ("prohibit", "conditions"):
        raise MeasureRefused("measure", "must be prohibit or conditions")
    if kind == "jurisdiction":
        if not isinstance(target, str):
            raise MeasureRefused("target", "a jurisdiction target is a code or region name")
        jurisdiction_codes(target)
        name = REGION_ALIASES.get(target.strip().lower(), target.strip().lower())
        stored_target = name if name in REGIONS else target.strip().upper()
    else:
        stored_target = _person_target(target)
    chosen = sorted(set(conditions))
    unknown = [c for c in chosen if c not in CONDITIONS]
    if unknown:
        raise MeasureRefused("conditions", f"unknown condition(s) {', '.join(unknown)}; "
                                           f"known: {', '.join(sorted(CONDITIONS))}")
    if measure == "conditions" and not chosen:
        raise MeasureRefused("conditions", "a conditions measure names at least one condition")
    if measure == "prohibit" and chosen:
        raise MeasureRefused("conditions", "a prohibition carries no conditions")
    if not date(1990, 1, 1) <= determination_date <= date(2200, 12, 31):
        raise MeasureRefused("determination_date", "must lie between 1990-01-01 and 2200-12-31")
    earliest = determination_date + timedelta(days=defaults.lead_time_days)
    if effective_date is None:
        effective_date = earliest
    elif effective_date > date(2300, 12, 31):
        raise MeasureRefused("effective_date", "must lie before 2301-01-01")
    elif effective_date < earliest:
        raise MeasureRefused(
            "effective_date",
            f"{effective_date.isoformat()} is earlier than the determination date plus the profile's lead time "
            f"of {defaults.lead_time_days} days ({earliest.isoformat()})",
        )
    duration = _check_days("duration_days", duration_days if duration_days is not None else defaults.duration_days)
    if description is not None:
        description = _check_reason(description, required=False)
    return _CheckedMeasure(stored_target, chosen, effective_date, duration, description)


def check_measure(services: Services, *, kind: str, target: str | dict[str, Any], measure: str,
                  determination_date: date | str, conditions: Iterable[str] = (),
                  effective_date: date | str | None = None, duration_days: int | None = None,
                  covers_resellers: bool = True, description: str | None = None,
                  defaults: MeasureDefaults | None = None) -> tuple[str, str] | None:
    """``None`` when ``add_measure`` would record this measure, else ``(field, why)``; stores nothing
    (a four-eyes proposal is checked when it is made, not only when it is approved)."""
    try:
        _checked(services, kind=kind, target=target, measure=measure,
                 determination_date=date.fromisoformat(determination_date) if isinstance(determination_date, str)
                 else determination_date, conditions=conditions,
                 effective_date=date.fromisoformat(effective_date) if isinstance(effective_date, str)
                 else effective_date, duration_days=duration_days, description=description, defaults=defaults)
    except MeasureRefused as exc:
        issue = exc.fields[0]
        return issue.field, issue.message
    return None


def add_measure(
    services: Services,
    actor: Actor,
    *,
    kind: str,
    target: str | dict[str, Any],
    measure: str,
    determination_date: date,
    conditions: Iterable[str] = (),
    effective_date: date | None = None,
    duration_days: int | None = None,
    covers_resellers: bool = True,
    description: str | None = None,
    defaults: MeasureDefaults | None = None,
    clock: Clock = clocks.now,
) -> Measure:
    """Record a measure; refuses (``MeasureRefused``, naming the field) what the rule does not allow."""
    checked = _checked(services, kind=kind, target=target, measure=measure, determination_date=determination_date,
                       conditions=conditions, effective_date=effective_date, duration_days=duration_days,
                       description=description, defaults=defaults)
    stored_target, chosen, effective_date = checked.stored_target, checked.conditions, checked.effective_date
    duration, description = checked.duration_days, checked.description
    measure_id = str(uuid.uuid4())
    now = clock()
    with services.ledger.unit_of_work() as work:
        work.conn.execute(insert(special_measure).values(
            id=measure_id, kind=kind, target=stored_target, measure=measure, conditions_json=json.dumps(chosen),
            description=description, determination_date=determination_date, effective_date=effective_date,
            duration_days=duration, expires_on=effective_date + timedelta(days=duration), extensions_json="[]",
            covers_resellers=covers_resellers, created_at=now, created_by=actor.name,
        ))
        work.log(LedgerAction(actor.name, actor.role, "create", "special_measure", measure_id,
                              purpose="special measures register",
                              detail={"kind": kind, "measure": measure, "conditions": chosen,
                                      "effective_date": effective_date.isoformat()}))
        row = work.conn.execute(select(special_measure).where(special_measure.c.id == measure_id)).one()
    return _measure(row)


def get_measure(conn: Connection, measure_id: str) -> Measure:
    row = conn.execute(select(special_measure).where(special_measure.c.id == measure_id)).first()
    if row is None:
        raise MeasureNotFound(measure_id)
    return _measure(row)


def list_measures(conn: Connection, *, include_revoked: bool = True) -> list[Measure]:
    query = select(special_measure).order_by(special_measure.c.effective_date, special_measure.c.id)
    if not include_revoked:
        query = query.where(special_measure.c.revoked_at.is_(None))
    return [_measure(row) for row in conn.execute(query)]


def extend_measure(services: Services, actor: Actor, measure_id: str, days: int, reason: str,
                   *, clock: Clock = clocks.now) -> Measure:
    """Add ``days`` to a measure's duration, with the reason; refused for a revoked measure."""
    _check_days("days", days)
    clean = _check_reason(reason)
    now = clock()
    with services.ledger.unit_of_work() as work:
        current = get_measure(work.conn, measure_id)
        if current.revoked_at is not None:
            raise MeasureRefused("id", "the measure was revoked; a revoked measure cannot be extended")
        if current.expires_on > date(9000, 1, 1) - timedelta(days=days):
            raise MeasureRefused("days", "the measure would expire after the year 9000")
        extensions = [*current.extensions, {"days": days, "reason": clean, "at": now.isoformat(), "by": actor.name}]
        work.conn.execute(update(special_measure).where(special_measure.c.id == measure_id).values(
            extensions_json=json.dumps(extensions), expires_on=current.expires_on + timedelta(days=days)))
        work.log(LedgerAction(actor.name, actor.role, "extend", "special_measure", measure_id,
                              purpose="special measures register", detail={"days": days}))
        return get_measure(work.conn, measure_id)


def revoke_measure(services: Services, actor: Actor, measure_id: str, reason: str,
                   *, clock: Clock = clocks.now) -> Measure:
    """End a measure now, with the reason; refused when it was already revoked."""
    clean = _check_reason(reason)
    now = clock()
    with services.ledger.unit_of_work() as work:
        current = get_measure(work.conn, measure_id)
        if current.revoked_at is not None:
            raise MeasureRefused("id", "the measure was already revoked")
        work.conn.execute(update(special_measure).where(special_measure.c.id == measure_id).values(
            revoked_at=now, revocation_reason=clean))
        work.log(LedgerAction(actor.name, actor.role, "revoke", "special_measure", measure_id,
                              purpose="special measures register"))
        return get_measure(work.conn, measure_id)


def affected_accounts(conn: Connection) -> dict[str, int]:
    """measure id -> the number of accounts (or customers without one) each measure took effect on (D1, D4)."""
    from sqlalchemy import func

    from cloudcip.screening.schema import special_measure_effect

    rows = conn.execute(select(special_measure_effect.c.measure_id, func.count())
                        .group_by(special_measure_effect.c.measure_id))
    return {str(measure_id): int(count) for measure_id, count in rows}

"""The regulatory profile: the numbers the proposed rule leaves unsettled, as data (A1, A4, A6, A7,
A8, B1).

The default profile ``eo13984-nprm-2024`` ships as package data (``cloudcip/profiles``): records kept
two years after the account is closed or last accessed, whichever is later (B1); special measures
effective no earlier than 180 days after determination and lasting 365 days; reseller termination in
30 days; copies of the CIP within 10 days; the bounds of a pending-verification deadline (A6) and of
the re-verification interval (A7); the fields collected from foreign persons (A3); the default notice
version (A8). :func:`check_policy_against_profile` says where a CIP policy falls outside them.
"""

from __future__ import annotations

import calendar
import functools
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cloudcip.errors import InvalidInput
from cloudcip.profiles import DEFAULT_PROFILE_NAME, notice_versions, profile_names, profile_text
from cloudcip.verification.policy import CipPolicy, validation_problems
from cloudcip.verification.policy_terms import FieldName


class ProfileError(InvalidInput, ValueError):
    """A regulatory profile that cannot be found or does not validate; ``problems`` names each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid regulatory profile:\n" + "\n".join(f"  - {problem}" for problem in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PositiveDays = Annotated[int, Field(gt=0, le=36500)]


class RetentionSettings(_Strict):
    """B1: how long records are kept after the account is closed or last accessed."""

    years: Annotated[int, Field(gt=0, le=100)]
    anchor: Literal["later_of_closure_and_last_access"] = "later_of_closure_and_last_access"


class SpecialMeasureSettings(_Strict):
    lead_time_days: Annotated[int, Field(ge=0, le=3650)]
    duration_days: PositiveDays


class ResellerSettings(_Strict):
    termination_days: PositiveDays
    #: E3: the provider's oversight cadence (the rule sets none): a reseller is reviewed this long after
    #: its last review (or its registration), with a random sample of this many sub-lessees
    review_interval_days: PositiveDays = 365
    review_sample_size: Annotated[int, Field(gt=0, le=10_000)] = 25


class CipCopySettings(_Strict):
    days: PositiveDays


class VerificationSettings(_Strict):
    """A6/A7: the bounds a policy's deadlines and re-verification intervals must keep."""

    min_deadline_days: Annotated[int, Field(ge=0, le=365)]
    max_deadline_days: Annotated[int, Field(gt=0, le=365)]
    max_reverification_interval_days: PositiveDays
    foreign_person_fields: list[FieldName] = []


class NoticeSettings(_Strict):
    default_version: Annotated[str, Field(min_length=1, max_length=32)]


class CertificationSettings(_Strict):
    attestation_interval_days: PositiveDays


class RegulatoryProfile(_Strict):
    """A regulatory profile (``extra="forbid"``: an unknown key is an error, never ignored)."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
    title: str
    source: str
    retention: RetentionSettings
    special_measures: SpecialMeasureSettings
    resellers: ResellerSettings
    cip_copies: CipCopySettings
    verification: VerificationSettings
    notices: NoticeSettings
    certification: CertificationSettings

    def retention_ends(self, closed_at: datetime | None, last_access_at: datetime | None) -> datetime | None:
        """B1: when the records of an account may be purged: ``retention.years`` after the later of its
        closure and its last access; ``None`` while the account is open and never accessed."""
        anchors = [moment for moment in (closed_at, last_access_at) if moment is not None]
        if not anchors or closed_at is None:
            return None
        return _add_years(max(anchors), self.retention.years)

    def special_measure_earliest_effective(self, determined_at: datetime) -> datetime:
        """D1: the earliest effective date of a measure determined at ``determined_at``."""
        return determined_at + timedelta(days=self.special_measures.lead_time_days)


def _add_years(moment: datetime, years: int) -> datetime:
    year = moment.year + years
    day = min(moment.day, calendar.monthrange(year, moment.month)[1])
    return moment.replace(year=year, day=day)


def profile_from_text(text: str, source: str = "<profile>") -> RegulatoryProfile:
    """Parse and validate a profile written in YAML."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ProfileError([f"(top): {source} is not valid YAML"]) from None
    if not isinstance(data, dict):
        raise ProfileError(["(top): a regulatory profile is a mapping of keys"])
    try:
        profile = RegulatoryProfile.model_validate(data)
    except ValidationError as error:
        raise ProfileError(validation_problems(error)) from None
    if profile.verification.min_deadline_days > profile.verification.max_deadline_days:
        raise ProfileError(["verification.min_deadline_days: greater than max_deadline_days"])
    return profile


def load_profile(path_or_name: str | Path = DEFAULT_PROFILE_NAME) -> RegulatoryProfile:
    """The profile in the YAML file ``path_or_name``, or the shipped profile of that name
    (``eo13984-nprm-2024``, the default)."""
    if isinstance(path_or_name, str) and path_or_name in profile_names():
        return profile_from_text(profile_text(path_or_name), path_or_name)
    file = Path(path_or_name)
    if not file.is_file():
        raise ProfileError([f"(top): no profile file {str(file)!r} and no shipped profile of that name "
                            f"(shipped: {', '.join(profile_names())})"])
    return profile_from_text(file.read_text(encoding="utf-8"), str(file))


@functools.cache
def default_profile() -> RegulatoryProfile:
    """The shipped default profile, ``eo13984-nprm-2024``, parsed once and shared (profiles are frozen)."""
    return load_profile(DEFAULT_PROFILE_NAME)


def check_policy_against_profile(policy: CipPolicy, profile: RegulatoryProfile,
                                 known_notices: list[str] | None = None) -> list[str]:
    """Where ``policy`` falls outside ``profile``, as ``dotted.path: what`` (empty when it fits):
    pending deadlines outside the profile's bounds (A6), re-verification intervals longer than allowed
    (A7), foreign-person fields not required (A3), notice versions that are not known (A8)."""
    bounds = profile.verification
    notices = notice_versions() if known_notices is None else known_notices
    problems = []
    if policy.notice_version not in notices:
        problems.append(f"notice_version: no notice text {policy.notice_version!r} (known: {', '.join(notices)})")
    for index, rule in enumerate(policy.rules):
        deadline = rule.pending.deadline
        if deadline < timedelta(days=bounds.min_deadline_days):
            problems.append(f"rules.{index}.pending.deadline: shorter than the profile's minimum of "
                            f"{bounds.min_deadline_days} days")
        if deadline > timedelta(days=bounds.max_deadline_days):
            problems.append(f"rules.{index}.pending.deadline: longer than the profile's maximum of "
                            f"{bounds.max_deadline_days} days")
        if rule.reverification_interval_days > bounds.max_reverification_interval_days:
            problems.append(f"rules.{index}.reverification_interval_days: longer than the profile's maximum of "
                            f"{bounds.max_reverification_interval_days} days")
        entity_only = rule.match.customer_kind == ("entity",)
        for field in bounds.foreign_person_fields:
            present = field in rule.required_fields or (
                field == "national_id" and entity_only and "registration" in rule.required_fields)
            if not present:
                problems.append(f"rules.{index}.required_fields: does not require {field!r}, which the profile "
                                f"collects from foreign persons")
        if rule.notice_version is not None and rule.notice_version not in notices:
            problems.append(f"rules.{index}.notice_version: no notice text {rule.notice_version!r}")
    return problems

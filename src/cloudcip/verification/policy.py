"""The CIP policy: the written CIP as a YAML file the compliance officer edits, validated on load
(A1, A4, A5, A6, A7, A8).

A policy is an ordered list of rules; the first rule whose ``match`` covers an application's account
type (``standard``, ``reseller``, ``trial``), opening channel (``self_serve``, ``sales_assisted``,
``marketplace``, ``via_reseller``), risk tier (``low``, ``standard``, ``high``) and customer kind
(``individual``, ``entity``) applies; ``*`` matches anything. A rule says:

- which fields must be collected (A3, checked against the profile);
- how foreign customers and foreign beneficial owners are verified (A4): the accepted documentary
  (``passport``, ``national_id_card``, ``registration_document``) and non-documentary (``email_otp``,
  ``phone_otp``, ``payment_check``, ``vendor_idv``, the vendor's document-and-selfie check of A5)
  methods, how many of each kind (``require``) and groups of which at least one must pass (``any_of``),
  and the baseline checks even a U.S. person passes;
- what a pending account may do and until when (A6): ``restrictions`` and a ``deadline``;
- what happens on failure (A6): ``refuse``, ``close`` or ``restrict``, and the redress text;
- the re-verification interval (A7) and the customer-notice version (A8).

Every problem in a file is reported at once as a :class:`PolicyError`, each named by the dotted path
of the bad key (``rules.2.verification.methods.0: unknown method 'fax'``). The vocabularies and value
checks are in ``verification.policy_terms``. Nothing here does I/O beyond reading the file it is
given.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    model_validator,
)

from cloudcip.errors import Internal, InvalidInput
from cloudcip.profiles import default_policy_text
from cloudcip.verification.policy_terms import (
    ACCOUNT_TYPES,
    CHANNELS,
    CUSTOMER_KINDS,
    DOCUMENTARY_METHODS,
    EITHER_KIND,
    NON_DOCUMENTARY_METHODS,
    RISK_TIERS,
    Deadline,
    FailureAction,
    FieldName,
    Identifier,
    Method,
    TriggerOutcome,
    counts_as,
    duration_text,
    selector,
)
from cloudcip.verification.restrictions import Restriction as Restriction  # re-exported: the policy's vocabulary
from cloudcip.verification.restrictions import RestrictionItem
from cloudcip.verification.restrictions import merge_restrictions as merge_restrictions
from cloudcip.verification.restrictions import restriction_from as restriction_from
from cloudcip.verification.risk_policy import RiskScorePolicy


class PolicyError(InvalidInput, ValueError):
    """A CIP policy that does not validate; ``problems`` lists each one as ``dotted.path: what``."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("invalid CIP policy:\n" + "\n".join(f"  - {problem}" for problem in self.problems))


class NoPolicyRule(Internal, LookupError):
    """No rule of the policy matches the application (a validated policy covers every case, so this is
    cloudcip's fault, never the caller's)."""




# --------------------------------------------------------------------------------------------------
# The policy's shape.


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleMatch(_Strict):
    """Which applications a rule covers; ``*`` (the default) matches any value."""

    account_type: Annotated[tuple[str, ...], BeforeValidator(selector(ACCOUNT_TYPES, "account type"))] = ("*",)
    channel: Annotated[tuple[str, ...], BeforeValidator(selector(CHANNELS, "channel"))] = ("*",)
    risk_tier: Annotated[tuple[str, ...], BeforeValidator(selector(RISK_TIERS, "risk tier"))] = ("*",)
    customer_kind: Annotated[tuple[str, ...], BeforeValidator(selector(CUSTOMER_KINDS, "customer kind"))] = ("*",)

    def matches(self, account_type: str, channel: str, risk_tier: str, customer_kind: str) -> bool:
        pairs = ((self.account_type, account_type), (self.channel, channel), (self.risk_tier, risk_tier),
                 (self.customer_kind, customer_kind))
        return all(selector == ("*",) or value in selector for selector, value in pairs)

    def covers(self, other: RuleMatch) -> bool:
        """Whether every application ``other`` matches is matched by this one too."""
        pairs = ((self.account_type, other.account_type), (self.channel, other.channel),
                 (self.risk_tier, other.risk_tier), (self.customer_kind, other.customer_kind))
        return all(mine == ("*",) or (theirs != ("*",) and set(theirs) <= set(mine)) for mine, theirs in pairs)

    def label(self) -> str:
        return " / ".join("|".join(part) for part in (self.account_type, self.channel, self.risk_tier,
                                                      self.customer_kind))


class MethodCounts(_Strict):
    documentary: Annotated[int, Field(ge=0, le=5)] = 0
    non_documentary: Annotated[int, Field(ge=0, le=5)] = 0


class Requirement(_Strict):
    """The verification a subject owes: accepted methods, how many of each kind, and ``any_of`` groups
    of which at least one method each must pass."""

    methods: Annotated[list[Method], Field(min_length=1)]
    require: MethodCounts = MethodCounts()
    any_of: list[Annotated[list[Method], Field(min_length=1)]] = []

    @model_validator(mode="after")
    def _achievable(self) -> Requirement:
        problems = []
        documentary = [method for method in self.methods if counts_as(method, DOCUMENTARY_METHODS)]
        non_documentary = [method for method in self.methods if counts_as(method, NON_DOCUMENTARY_METHODS)]
        if self.require.documentary > len(documentary):
            problems.append(f"@require.documentary: asks for {self.require.documentary} documentary method(s) "
                            f"but methods accepts {len(documentary)}")
        if self.require.non_documentary > len(non_documentary):
            problems.append(f"@require.non_documentary: asks for {self.require.non_documentary} "
                            f"non-documentary method(s) but methods accepts {len(non_documentary)}")
        for group_index, group in enumerate(self.any_of):
            for method_index, method in enumerate(group):
                if method not in self.methods:
                    problems.append(f"@any_of.{group_index}.{method_index}: method {method!r} is not in methods")
        if self.require.documentary + self.require.non_documentary > len(set(self.methods)):
            problems.append("@require: asks for more checks than methods accepts (each method counts once)")
        if not self.require.documentary and not self.require.non_documentary and not self.any_of:
            problems.append("@require: asks for nothing; give require counts or any_of groups")
        if len(set(self.methods)) != len(self.methods):
            problems.append("@methods: a method is listed twice")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def owed(self, satisfied: Iterable[str]) -> list[tuple[int, tuple[str, ...]]]:
        """What is still owed given the ``satisfied`` methods: pairs of (how many, of which methods).
        Empty when the requirement is met. Only methods this requirement accepts count, and each
        counts once: the vendor's check fills a documentary or a non-documentary place, not both (A4)."""
        done = {method for method in satisfied if method in self.methods}
        have = {"documentary": sum(1 for m in done if m in DOCUMENTARY_METHODS and m not in EITHER_KIND),
                "non_documentary": sum(1 for m in done if m in NON_DOCUMENTARY_METHODS and m not in EITHER_KIND)}
        need = {"documentary": self.require.documentary, "non_documentary": self.require.non_documentary}
        for _method in sorted(done & EITHER_KIND):  # each fills the place still short, documentary first
            short = [kind for kind in ("documentary", "non_documentary") if have[kind] < need[kind]]
            if short:
                have[short[0]] += 1
        owed: list[tuple[int, tuple[str, ...]]] = []
        for name, kind in (("documentary", DOCUMENTARY_METHODS), ("non_documentary", NON_DOCUMENTARY_METHODS)):
            if have[name] < need[name]:
                candidates = tuple(method for method in self.methods
                                   if counts_as(method, kind) and method not in done)
                owed.append((need[name] - have[name], candidates))
        for group in self.any_of:
            if not done.intersection(group):
                owed.append((1, tuple(group)))
        return owed


class Verification(Requirement):
    """How a rule verifies its customers (A4): the requirement for a foreign customer, the baseline
    every customer passes (``us_person_baseline``, all of them), and the requirement for each foreign
    beneficial owner of an entity."""

    us_person_baseline: list[Method] = []
    beneficial_owners: Requirement | None = None


class Pending(_Strict):
    """What an account may do while verification is pending, and until when (A6)."""

    restrictions: list[RestrictionItem] = []
    deadline: Deadline

    @field_serializer("deadline")
    def _deadline_as_iso(self, deadline: timedelta) -> str:
        return duration_text(deadline)


class PolicyRule(_Strict):
    """One rule of the written CIP."""

    id: Identifier
    description: str = ""
    match: RuleMatch = RuleMatch()
    required_fields: list[FieldName] = []
    verification: Verification
    pending: Pending
    failure_action: FailureAction
    failure_restrictions: list[RestrictionItem] = []
    reverification_interval_days: Annotated[int, Field(gt=0, le=3650)]
    notice_version: Identifier | None = None
    redress: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> PolicyRule:
        problems = []
        if self.failure_action == "restrict" and not self.failure_restrictions:
            problems.append("@failure_restrictions: failure_action 'restrict' needs at least one restriction")
        if self.failure_action != "restrict" and self.failure_restrictions:
            problems.append("@failure_restrictions: only used when failure_action is 'restrict'")
        covers_entities = self.match.customer_kind == ("*",) or "entity" in self.match.customer_kind
        if covers_entities and self.verification.beneficial_owners is None:
            problems.append("@verification.beneficial_owners: a rule covering entities must say how their foreign "
                            "beneficial owners are verified")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def deadline(self) -> timedelta:
        return self.pending.deadline


class ReviewTriggers(_Strict):
    """What sends an application to review or refuses it, whatever the rule (A6)."""

    risk_tier_high: TriggerOutcome = "in_review"
    screening_review: TriggerOutcome = "in_review"
    screening_block: TriggerOutcome = "refused"
    measure_conditions: TriggerOutcome = "in_review"
    validation_problems: TriggerOutcome = "in_review"
    missing_fields: TriggerOutcome = "in_review"
    evidence_failed: TriggerOutcome = "in_review"
    #: G1: a strong link (card, bank account, wallet, national ID, phone, e-mail, device) to a refused,
    #: closed or restricted account or a confirmed hit: ``in_review`` (the default) or ``proceed`` (the
    #: link is only a note); never ``refused``: a person decides. A weak link is always a note only.
    ban_evasion_link: TriggerOutcome = "in_review"

    @model_validator(mode="after")
    def _block_never_proceeds(self) -> ReviewTriggers:
        if self.screening_block == "proceed":
            raise ValueError("@screening_block: a screening block never proceeds (in_review or refused)")
        if self.ban_evasion_link == "refused":
            raise ValueError("@ban_evasion_link: a link to a flagged account is never refused by itself "
                             "(in_review or proceed)")
        return self


class ExemptionsPolicy(_Strict):
    """F1: whether the signup decision applies the exemptions of the register (those Commerce granted the
    provider, recorded with ``cloudcip exemptions grant``). Off, no exemption applies to any signup and
    the written CIP states none."""

    apply: bool = True


class CipPolicy(_Strict):
    """The CIP policy: ordered rules, first match wins (A1)."""

    policy_id: Identifier
    version: Annotated[str, Field(min_length=1, max_length=32)]
    title: str = "Customer Identification Program"
    effective_date: date | None = None
    program_owner: str = "CIP compliance officer"
    notice_version: Identifier
    # A8: an application must name the notice the customer saw, and a notice cloudcip knows
    notice_required: bool = True
    redress: Annotated[str, Field(min_length=1)]
    review_triggers: ReviewTriggers = ReviewTriggers()
    #: G2: the weights of the risk score's factors and the bands mapping a score to a tier
    risk_score: RiskScorePolicy = RiskScorePolicy()
    #: F1: the exemptions of the register applied at signup (or not)
    exemptions: ExemptionsPolicy = ExemptionsPolicy()
    rules: Annotated[list[PolicyRule], Field(min_length=1)]

    @model_validator(mode="after")
    def _rules_hold_together(self) -> CipPolicy:
        problems = []
        seen: dict[str, int] = {}
        for index, rule in enumerate(self.rules):
            if rule.id in seen:
                problems.append(f"@rules.{index}.id: duplicate rule id {rule.id!r} (also rules.{seen[rule.id]})")
            else:
                seen[rule.id] = index
            for earlier_index, earlier in enumerate(self.rules[:index]):
                if earlier.match.covers(rule.match):
                    problems.append(f"@rules.{index}.match: never applies: rule {earlier.id!r} "
                                    f"(rules.{earlier_index}) above it matches everything it matches")
                    break
        uncovered = [combination for combination in itertools.product(ACCOUNT_TYPES, CHANNELS, RISK_TIERS,
                                                                      CUSTOMER_KINDS)
                     if not any(rule.match.matches(*combination) for rule in self.rules)]
        if uncovered:
            first = uncovered[0]
            more = f" (and {len(uncovered) - 1} more combinations)" if len(uncovered) > 1 else ""
            problems.append(f"@rules: no rule matches account_type={first[0]} channel={first[1]} "
                            f"risk_tier={first[2]} customer_kind={first[3]}{more}; end with a catch-all rule")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def rule_for(self, account_type: str, channel: str, risk_tier: str, customer_kind: str) -> PolicyRule:
        """The first rule matching the application; :class:`NoPolicyRule` if none does."""
        for rule in self.rules:
            if rule.match.matches(account_type, channel, risk_tier, customer_kind):
                return rule
        raise NoPolicyRule(f"no rule for account_type={account_type} channel={channel} "
                           f"risk_tier={risk_tier} customer_kind={customer_kind}")

    def rule_by_id(self, rule_id: str) -> PolicyRule:
        """The rule called ``rule_id``; ``KeyError`` if there is none."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def notice_version_for(self, rule: PolicyRule) -> str:
        return rule.notice_version or self.notice_version

    def redress_for(self, rule: PolicyRule) -> str:
        return rule.redress or self.redress


# --------------------------------------------------------------------------------------------------
# Loading.


def validation_problems(error: ValidationError) -> list[str]:
    """Each error of ``error`` as ``dotted.path: message``, deeper paths of our own checks joined in."""
    problems: list[str] = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required key is missing"
        for line in message.split("\n"):
            if line.startswith("@"):
                relative, _, text = line[1:].partition(": ")
                path = ".".join(part for part in (location, relative) if part)
                problems.append(f"{path}: {text}")
            else:
                problems.append(f"{location or '(top)'}: {line}")
    return problems


def policy_from_mapping(data: Any) -> CipPolicy:
    """Validate a parsed policy; every problem raised together as a :class:`PolicyError`."""
    if not isinstance(data, Mapping):
        raise PolicyError(["(top): a CIP policy is a mapping of keys (policy_id, version, rules, ...)"])
    try:
        return CipPolicy.model_validate(dict(data))
    except ValidationError as error:
        raise PolicyError(validation_problems(error)) from None


def policy_from_text(text: str, source: str = "<policy>") -> CipPolicy:
    """Parse and validate a policy written in YAML."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise PolicyError([f"(top): {source} is not valid YAML{where}"]) from None
    return policy_from_mapping(data)


def load_policy(path: str | Path) -> CipPolicy:
    """Load and validate the CIP policy in the YAML file at ``path``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError([f"(top): cannot read {file}: {error.strerror}"]) from None
    return policy_from_text(text, str(file))


def policy_to_yaml(policy: CipPolicy) -> str:
    """The policy written back as YAML that :func:`policy_from_text` reads to an equal policy."""
    return yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


@functools.cache
def default_policy() -> CipPolicy:
    """The CIP policy shipped with cloudcip (``profiles/default-policy.yaml``), parsed once and shared
    (policies are frozen)."""
    return policy_from_text(default_policy_text(), "default-policy.yaml")


# --------------------------------------------------------------------------------------------------
# Describing.


def describe_requirement(requirement: Requirement) -> str:
    """A one-line description: ``1 documentary of passport|national_id_card; 1 non-documentary of ...``."""
    parts = []
    for kind, count in ((DOCUMENTARY_METHODS, requirement.require.documentary),
                        (NON_DOCUMENTARY_METHODS, requirement.require.non_documentary)):
        if count:
            name = "documentary" if kind is DOCUMENTARY_METHODS else "non-documentary"
            accepted = "|".join(method for method in requirement.methods if counts_as(method, kind))
            parts.append(f"{count} {name} of {accepted}")
    parts.extend(f"one of {'|'.join(group)}" for group in requirement.any_of)
    return "; ".join(parts)


def _days(delta: timedelta) -> str:
    if delta % timedelta(days=1) == timedelta(0):
        return f"{delta.days} days"
    return f"{delta.total_seconds() / 3600:g} hours"


def policy_summary(policy: CipPolicy) -> str:
    """A plain-text summary of the policy, one block per rule, for ``cloudcip policy show``."""
    lines = [
        f"CIP policy {policy.policy_id} version {policy.version}: {policy.title}",
        f"notice {policy.notice_version}; {len(policy.rules)} rules, first match wins",
        "review triggers: " + ", ".join(f"{name} -> {outcome}"
                                        for name, outcome in policy.review_triggers.model_dump().items()),
        "",
    ]
    for position, rule in enumerate(policy.rules, start=1):
        verification = rule.verification
        lines.append(f"{position}. {rule.id}  [{rule.match.label()}]")
        if rule.description:
            lines.append(f"   {rule.description}")
        lines.append(f"   fields: {', '.join(rule.required_fields) or '-'}")
        lines.append(f"   foreign customer: {describe_requirement(verification)}")
        lines.append(f"   U.S. person baseline: {', '.join(verification.us_person_baseline) or '-'}")
        if verification.beneficial_owners is not None:
            lines.append(f"   foreign beneficial owner: {describe_requirement(verification.beneficial_owners)}")
        restrictions = ", ".join(item.label for item in rule.pending.restrictions) or "none"
        lines.append(f"   pending: {restrictions}; deadline {_days(rule.pending.deadline)}")
        failure = rule.failure_action
        if rule.failure_restrictions:
            failure += " (" + ", ".join(item.label for item in rule.failure_restrictions) + ")"
        lines.append(f"   on failure: {failure}; re-verify every {rule.reverification_interval_days} days; "
                     f"notice {policy.notice_version_for(rule)}")
    return "\n".join(lines)

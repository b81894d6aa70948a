"""The written CIP an examiner reads, generated from the CIP policy and the regulatory profile so the
two never differ (A1, A2, A3, A4, A5, A6, A7, A8, B1).

One section per requirement A1 … A8, each titled with its id, then B1 (retention, from the profile)
and the profile's other figures. Every rule of the policy is described (its id, what it matches, the
fields it requires, its methods, pending restrictions and deadline, failure action, re-verification
interval and notice version). The document is built once as plain sections and blocks, then rendered
by Jinja2 either as Markdown (``written_cip.md.j2``, free text escaped for Markdown) or as simple
semantic HTML (``written_cip.html.j2``, autoescaped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from cloudcip.profiles import notice_text, notice_versions
from cloudcip.verification.policy import (
    DOCUMENTARY_METHODS,
    NON_DOCUMENTARY_METHODS,
    CipPolicy,
    PolicyRule,
    Requirement,
    Restriction,
    describe_requirement,
)
from cloudcip.verification.profile import RegulatoryProfile

Format = Literal["md", "html"]

METHOD_DESCRIPTIONS: dict[str, str] = {
    "passport": "an unexpired passport, its machine-readable zone parsed and its ICAO 9303 check digits verified",
    "national_id_card": "an unexpired government identity card, its number checked against the issuing "
                        "country's format and check digits",
    "registration_document": "the entity's registration document, its registration number checked "
                             "(and for U.S. entities the EIN)",
    "email_otp": "a one-time code sent to the email address, stored hashed, expiring and attempt-limited",
    "phone_otp": "a one-time code sent to the telephone number, stored hashed, expiring and attempt-limited",
    "payment_check": "a check of the means of payment (card Luhn and issuer country, IBAN and BIC, wallet "
                     "checksum) and a successful authorisation by the payment processor",
    "vendor_idv": "an identity-verification vendor's document-and-selfie check, received through the "
                  "vendor adapter with the vendor's reference kept",
}

RESTRICTION_DESCRIPTIONS: dict[str, str] = {
    "no_gpu": "no GPU instances",
    "no_bare_metal": "no dedicated (bare-metal) servers",
    "no_outbound_smtp": "outbound mail (SMTP) blocked",
    "no_sub_lessees": "no resale to sub-lessees",
    "no_provisioning": "no resources may be provisioned",
    "enhanced_monitoring": "enhanced monitoring of access and usage",
    "max_instances": "at most {value} instances",
    "max_vcpus": "at most {value} vCPUs",
    "spend_limit_usd": "spending capped at {value} USD",
    "max_egress_gb": "egress capped at {value} GB",
}

TRIGGER_DESCRIPTIONS: dict[str, str] = {
    "risk_tier_high": "the application's risk tier is high",
    "screening_review": "screening found a possible match with a designated person",
    "screening_block": "screening found a match that blocks the application",
    "measure_conditions": "a special measure sets conditions on the account",
    "validation_problems": "a field check failed",
    "missing_fields": "a field the rule requires is missing",
    "evidence_failed": "a verification method failed",
}

OUTCOME_WORDS = {"proceed": "the decision proceeds", "in_review": "an analyst reviews it",
                 "refused": "the account is refused"}
FAILURE_WORDS = {"refuse": "the account is refused", "close": "the account is closed",
                 "restrict": "the account is kept restricted"}


@dataclass
class Block:
    """A piece of a section: ``p`` (paragraph), ``ul`` (bullets), ``dl`` (terms and definitions),
    ``table`` (header row and rows), ``h3`` (a sub-heading, with an anchor ``ref``) or ``quote`` (quoted
    paragraphs in ``items``)."""

    kind: Literal["p", "ul", "dl", "table", "h3", "quote"]
    text: str = ""
    items: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    ref: str = ""


@dataclass
class Section:
    requirement: str  # A1 … A8, B1, or "" for sections that serve no single id
    title: str
    blocks: list[Block]

    @property
    def heading(self) -> str:
        return f"{self.requirement}. {self.title}" if self.requirement else self.title

    @property
    def anchor(self) -> str:
        return (self.requirement or re.sub(r"[^a-z0-9]+", "-", self.title.lower())).lower()


@dataclass
class WrittenCip:
    title: str
    preamble: list[Block]
    sections: list[Section]


def _days(delta: timedelta) -> str:
    if delta % timedelta(days=1) == timedelta(0):
        return f"{delta.days} days"
    return f"{delta.total_seconds() / 3600:g} hours"


def describe_restriction(restriction: Restriction) -> str:
    template = RESTRICTION_DESCRIPTIONS.get(restriction.name, restriction.name)
    value = restriction.label.partition("=")[2]
    return template.format(value=value)


def _restrictions(items: list[Restriction]) -> str:
    return "; ".join(f"{describe_restriction(item)} ({item.label})" for item in items) or "none"


def _requirement_text(requirement: Requirement) -> str:
    return describe_requirement(requirement) + f" (accepted: {', '.join(requirement.methods)})"


def _any(values: tuple[str, ...]) -> str:
    return "any" if values == ("*",) else ", ".join(values)


def _matches(rule: PolicyRule) -> str:
    match = rule.match
    parts = (("account type", match.account_type), ("channel", match.channel), ("risk tier", match.risk_tier),
             ("customer", match.customer_kind))
    return "; ".join(f"{name}: {_any(values)}" for name, values in parts)


def _rule_blocks(policy: CipPolicy, rule: PolicyRule, position: int) -> list[Block]:
    verification = rule.verification
    pairs = [
        ("Rule", f"{rule.id} (number {position}, tried in order)"),
        ("Applies to", _matches(rule)),
        ("Required fields", ", ".join(rule.required_fields) or "none"),
        ("Foreign customer verification", _requirement_text(verification)),
        ("U.S.-person baseline checks", ", ".join(verification.us_person_baseline) or "none"),
        ("Foreign beneficial owner verification",
         _requirement_text(verification.beneficial_owners) if verification.beneficial_owners else "not applicable"),
        ("While verification is pending", _restrictions(list(rule.pending.restrictions))),
        ("Deadline", f"{_days(rule.pending.deadline)} after the decision"),
        ("Failure action", f"{rule.failure_action}: {FAILURE_WORDS[rule.failure_action]}"
         + (f" ({_restrictions(list(rule.failure_restrictions))})" if rule.failure_restrictions else "")),
        ("Re-verification interval", f"{rule.reverification_interval_days} days"),
        ("Notice version", policy.notice_version_for(rule)),
    ]
    if rule.redress:
        pairs.append(("Redress", rule.redress))
    blocks = [Block("h3", text=f"Rule {rule.id}", ref=f"rule-{rule.id}")]
    if rule.description:
        blocks.append(Block("p", text=rule.description.strip()))
    blocks.append(Block("dl", pairs=pairs))
    return blocks


def _notice_paragraphs(version: str) -> list[str]:
    if version not in notice_versions():
        return []
    paragraphs = [" ".join(line.strip() for line in chunk.splitlines()).replace("**", "")
                  for chunk in notice_text(version).split("\n\n")]
    return [paragraph for paragraph in paragraphs if paragraph and not paragraph.startswith("#")]


def _funds_blocks(rules: list[PolicyRule]) -> list[Block]:
    """A3: the statement on the source of funds and of payment, made only when a rule requires them
    (the application then carries them as fields of their own, validated and sealed at rest)."""
    asking = [rule.id for rule in rules if {"source_of_funds", "payment_source"} & set(rule.required_fields)]
    if not asking:
        return []
    return [Block("p", text="The source of funds (its kind, and a description where the kind is other) and the "
                            "source of payment (who pays: the customer, a parent company, an affiliate, an employer, "
                            "a reseller or a named third party) are collected as fields of their own, validated, and "
                            "sealed at rest with the customer's other identifying information. Rules that require "
                            "them: " + ", ".join(asking) + ".")]


def build_written_cip(policy: CipPolicy, profile: RegulatoryProfile) -> WrittenCip:
    """The written CIP as sections and blocks, ready to render."""
    rules = policy.rules
    bounds = profile.verification
    preamble = [
        Block("p", text=f"This is the written Customer Identification Program (CIP) of the provider, as required "
                        f"by Executive Order 13984 and the regulatory profile {profile.id} ({profile.title}). It is "
                        f"generated from the CIP policy {policy.policy_id}, version {policy.version}, the same file "
                        "that decides every account opening, so the program as written and as run never differ."),
        Block("dl", pairs=[
            ("Policy", f"{policy.policy_id} version {policy.version}: {policy.title}"),
            ("Effective date", policy.effective_date.isoformat() if policy.effective_date else "on adoption"),
            ("Program owner", policy.program_owner),
            ("Regulatory profile", f"{profile.id}: {profile.source}"),
            ("Rules", ", ".join(rule.id for rule in rules)),
        ]),
    ]
    sections: list[Section] = []

    a1 = [
        Block("p", text="The program is tailored by account type (standard, reseller, trial), by customer kind "
                        "(individual, entity), by opening channel (self-serve, sales-assisted, marketplace, via "
                        "reseller) and by risk tier (low, standard, high). The rules below are tried in order and the "
                        "first that matches an application applies; every combination is covered by some rule."),
        Block("table", header=["#", "Rule", "Account type", "Channel", "Risk tier", "Customer", "Failure action"],
              rows=[[str(position), rule.id, _any(rule.match.account_type), _any(rule.match.channel),
                     _any(rule.match.risk_tier), _any(rule.match.customer_kind), rule.failure_action]
                    for position, rule in enumerate(rules, start=1)]),
    ]
    for position, rule in enumerate(rules, start=1):
        a1.extend(_rule_blocks(policy, rule, position))
    sections.append(Section("A1", "Written CIP tailored by account type, channel and risk tier", a1))

    sections.append(Section("A2", "U.S. person or foreign person", [
        Block("p", text="For the customer and for every beneficial owner the provider decides whether the person is a "
                        "U.S. person or a foreign person, and records the basis of the decision."),
        Block("ul", items=[
            "U.S. citizen: shown by a verified U.S. passport or other citizenship document (basis us_citizen);",
            "lawful permanent resident: shown by a verified permanent-resident card (basis permanent_resident);",
            "entity organised under U.S. law, including its foreign branches: a valid EIN and U.S. formation "
            "(basis us_entity);",
            "any person located in the United States: a U.S. address corroborated by other evidence; the IP "
            "address alone never settles location (basis located_in_us);",
            "everyone else, and anyone whose status cannot be determined, is a foreign person (basis foreign or "
            "undetermined). A foreign subsidiary of a U.S. company is a foreign person.",
        ]),
        Block("p", text="Foreign customers and foreign beneficial owners are verified as each rule says (A4); a U.S. "
                        "person passes only the rule's baseline checks."),
        Block("table", header=["Rule", "U.S.-person baseline checks"],
              rows=[[rule.id, ", ".join(rule.verification.us_person_baseline) or "none"] for rule in rules]),
    ]))

    sections.append(Section("A3", "Information collected", [
        Block("p", text="From foreign customers and foreign beneficial owners the provider collects at least: "
                        + ", ".join(bounds.foreign_person_fields) + ". For entities the registration number "
                        "stands for the national identification number. For the life of the account the provider "
                        "also records the IP address and time of each access and administrative action."),
        Block("table", header=["Rule", "Required fields"],
              rows=[[rule.id, ", ".join(rule.required_fields) or "none"] for rule in rules]),
        *_funds_blocks(rules),
    ]))

    sections.append(Section("A4", "Verification methods", [
        Block("p", text="Documentary methods:"),
        Block("dl", pairs=[(method, METHOD_DESCRIPTIONS[method]) for method in DOCUMENTARY_METHODS]),
        Block("p", text="Non-documentary methods:"),
        Block("dl", pairs=[(method, METHOD_DESCRIPTIONS[method]) for method in NON_DOCUMENTARY_METHODS]),
        Block("p", text="Every field is also checked with maintained libraries: national identification number "
                        "check digits, telephone numbering plans, IBAN and BIC, card Luhn and issuer country, "
                        "crypto-wallet address checksums, passport MRZ check digits, document expiry and the "
                        "plausibility of the date of birth."),
        Block("table", header=["Rule", "Foreign customer", "Foreign beneficial owner"],
              rows=[[rule.id, _requirement_text(rule.verification),
                     _requirement_text(rule.verification.beneficial_owners)
                     if rule.verification.beneficial_owners else "not applicable"] for rule in rules]),
    ]))

    vendor_rules = [rule.id for rule in rules if "vendor_idv" in rule.verification.methods
                    or (rule.verification.beneficial_owners is not None
                        and "vendor_idv" in rule.verification.beneficial_owners.methods)]
    sections.append(Section("A5", "Identity-verification vendor", [
        Block("p", text="The results of an outside identity-verification vendor (document and selfie) come in "
                        "through an adapter, are checked for the vendor's signature, and become evidence like any "
                        "other (method vendor_idv), with the vendor's reference kept with the case."),
        Block("p", text="Rules that accept the vendor's check: " + (", ".join(vendor_rules) or "none") + "."),
    ]))

    triggers = policy.review_triggers.model_dump()
    sections.append(Section("A6", "Doubtful or unverifiable identity", [
        Block("p", text="When identity is doubtful the provider collects more (signatories, persons with "
                        "authority) and the following applies."),
        Block("table", header=["When", "Then"],
              rows=[[TRIGGER_DESCRIPTIONS[name], f"{outcome}: {OUTCOME_WORDS[outcome]}"]
                    for name, outcome in triggers.items()]),
        Block("p", text="A special measure that prohibits the account means it is not opened. While verification is "
                        "pending the account may be used only within the rule's restrictions, until the deadline; "
                        f"deadlines stay between {bounds.min_deadline_days} and {bounds.max_deadline_days} days as "
                        "the profile requires. When the deadline passes with evidence still owed, the case fails and "
                        "the rule's failure action is taken."),
        Block("table", header=["Rule", "While pending", "Deadline", "On failure"],
              rows=[[rule.id, _restrictions(list(rule.pending.restrictions)), _days(rule.pending.deadline),
                     rule.failure_action + (f" ({_restrictions(list(rule.failure_restrictions))})"
                                            if rule.failure_restrictions else "")] for rule in rules]),
        Block("p", text="Redress:"),
        Block("quote", items=[policy.redress.strip()]),
        Block("p", text="Each unverifiable case, and how it was resolved, is recorded with who resolved it and when; "
                        "a redress request re-opens the case for review."),
    ]))

    sections.append(Section("A7", "Beneficial owners and periodic re-verification", [
        Block("p", text="Customers notify the provider when beneficial owners are added; an addition re-evaluates "
                        "the case and the new owner is verified as the rule says. Customer data is re-verified "
                        "periodically, at the rule's interval (at most "
                        f"{bounds.max_reverification_interval_days} days under the profile), and the program applies "
                        "to existing accounts as well as new ones."),
        Block("table", header=["Rule", "Re-verification interval"],
              rows=[[rule.id, f"{rule.reverification_interval_days} days"] for rule in rules]),
    ]))

    versions = sorted({policy.notice_version, *(policy.notice_version_for(rule) for rule in rules)})
    a8 = [
        Block("p", text="Before an account is opened the customer is notified that identity information is "
                        "collected, verified and may be disclosed as the law requires. Each application records the "
                        "version of the notice the customer saw. Notice versions in this policy: "
                        + ", ".join(versions) + "."),
        Block("table", header=["Rule", "Notice version"],
              rows=[[rule.id, policy.notice_version_for(rule)] for rule in rules]),
    ]
    notice = _notice_paragraphs(policy.notice_version)
    if notice:
        a8.append(Block("p", text=f"The text of notice {policy.notice_version}:"))
        a8.append(Block("quote", items=notice))
    sections.append(Section("A8", "Customer notice", a8))

    sections.append(Section("B1", "Record retention", [
        Block("p", text="Every identifying item, every piece of evidence, every method and result, every "
                        "discrepancy and its resolution is kept for "
                        f"{profile.retention.years} years after the account is closed or last accessed, whichever is "
                        "later, and then purged; never while a legal hold stands."),
    ]))

    sections.append(Section("", "Regulatory profile figures", [
        Block("dl", pairs=[
            ("Profile", f"{profile.id}: {profile.title}"),
            ("Retention", f"{profile.retention.years} years after closure or last access, whichever is later"),
            ("Special measures", f"effective no earlier than {profile.special_measures.lead_time_days} days after "
                                 f"determination; lasting {profile.special_measures.duration_days} days"),
            ("Reseller termination", f"within {profile.resellers.termination_days} days of a finding"),
            ("Copies of this CIP", f"within {profile.cip_copies.days} days of a request"),
            ("Pending deadline bounds", f"{bounds.min_deadline_days} to {bounds.max_deadline_days} days"),
        ]),
    ]))
    return WrittenCip(title=f"Written CIP: {policy.title}", preamble=preamble, sections=sections)


_ENTITY_LIKE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# Markdown's active characters; an underscore inside a word (``email_otp``) is inert and stays.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|^[#+\-=]|^\d+(?=[.)]))")


def markdown_text(value: object) -> str:
    """Free text made inert in Markdown: its special characters escaped, newlines folded."""
    text = _ENTITY_LIKE.sub("&amp;", " ".join(str(value).split()))
    return _MD_SPECIAL.sub(lambda found: "\\" + found.group(0) if not found.group(0)[0].isdigit()
                           else found.group(0) + "\\", text)


def markdown_code(value: object) -> str:
    """An identifier as a Markdown code span (identifiers never contain a backtick)."""
    text = " ".join(str(value).split()).replace("`", "'")
    return f"`{text}`"


def _environment(format: Format) -> Environment:
    environment = Environment(
        loader=PackageLoader("cloudcip.reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["md"] = markdown_text
    environment.filters["code"] = markdown_code
    return environment


def render_written_cip(policy: CipPolicy, profile: RegulatoryProfile, format: Format = "md") -> str:
    """The written CIP as Markdown (``md``) or HTML (``html``)."""
    if format not in ("md", "html"):
        raise ValueError(f"unknown format {format!r} (md or html)")
    document = build_written_cip(policy, profile)
    template = _environment(format).get_template(f"written_cip.{format}.j2")
    return template.render(document=document)

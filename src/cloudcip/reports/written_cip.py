"""The written CIP an examiner reads, generated from the CIP policy, the regulatory profile and the
registry of controls, so that what it states and what runs never differ (A1, A2, A3, A4, A5, A6, A7,
A8; the other ids whose controls it states).

Every sentence comes from a control of ``reports.controls`` that the policy, profile and settings in
force enable; each :class:`Block` names the controls it states (``controls``), and the claims test
checks each of them against the code (``tests/reports/test_written_cip_claims.py``). A section
appears when one of its controls is enabled: A1 … A8 always, the other requirement ids as their
controls land. The policy's own content (its rules, their fields, methods, restrictions, deadlines,
failure actions, intervals, notice versions, the redress text) is laid out in tables and rule blocks
tagged with the controls that perform them; a row or pair whose control is off is left out.

The document is built once as sections and blocks, then rendered by Jinja2 as Markdown
(``written_cip.md.j2``, free text escaped for Markdown) or simple semantic HTML
(``written_cip.html.j2``, autoescaped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from cloudcip.profiles import notice_text, notice_versions
from cloudcip.reports.controls import Control, ControlContext, enabled_controls
from cloudcip.reports.requirement_ids import REQUIREMENTS
from cloudcip.settings import Settings
from cloudcip.verification.policy import CipPolicy, PolicyRule, Requirement, Restriction, describe_requirement
from cloudcip.verification.profile import RegulatoryProfile

Format = Literal["md", "html"]

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

FAILURE_WORDS = {"refuse": "the account is refused", "close": "the account is closed",
                 "restrict": "the account is kept restricted"}

#: Section titles of the written CIP; other requirement ids take their title from ``REQUIREMENTS``.
SECTION_TITLES: dict[str, str] = {
    "A1": "Written CIP tailored by account type, channel and risk tier",
    "A2": "U.S. person or foreign person",
    "A3": "Information collected",
    "A4": "Verification methods",
    "A5": "Identity-verification vendor",
    "A6": "Doubtful or unverifiable identity",
    "A7": "Beneficial owners and periodic re-verification",
    "A8": "Customer notice",
    "B1": "Record retention",
    "B5": "Legal processes and holds",
    "C4": "Access signals",
    "D1": "Special measures",
    "D3": "Screening against designated persons",
    "D4": "Re-screening",
    "D5": "Adjudication of possible matches",
    "E1": "Reseller register",
    "E3": "Oversight of resellers",
    "F1": "Exemptions",
    "G1": "Linked accounts and ban evasion",
    "G2": "Risk score",
    "G3": "Sharing indicators with peers",
    "G4": "Incident reports",
    "H1": "Certification to Commerce",
    "H3": "Copies of this CIP on request",
}


@dataclass
class Block:
    """A piece of a section: ``p`` (paragraph), ``ul`` (bullets), ``dl`` (terms and definitions),
    ``table`` (header row and rows), ``h3`` (a sub-heading, with an anchor ``ref``) or ``quote`` (quoted
    paragraphs in ``items``). ``controls`` names the controls whose statement it is."""

    kind: Literal["p", "ul", "dl", "table", "h3", "quote"]
    text: str = ""
    items: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    ref: str = ""
    controls: tuple[str, ...] = ()


@dataclass
class Section:
    requirement: str  # a requirement id, or "" for sections that serve no single id
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

    @property
    def blocks(self) -> list[Block]:
        """Every block of the document, preamble first."""
        return [*self.preamble, *(block for section in self.sections for block in section.blocks)]

    @property
    def stated_controls(self) -> list[str]:
        """The ids of the controls the document states, in order of first mention."""
        return list(dict.fromkeys(control_id for block in self.blocks for control_id in block.controls))


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


def _failure(rule: PolicyRule) -> str:
    return rule.failure_action + (f" ({_restrictions(list(rule.failure_restrictions))})"
                                  if rule.failure_restrictions else "")


class _Statements:
    """The enabled controls of one rendering, and the blocks that state them."""

    def __init__(self, context: ControlContext) -> None:
        self.context = context
        self.enabled: dict[str, Control] = {item.id: item for item in enabled_controls(context)}

    def on(self, *control_ids: str) -> bool:
        return all(control_id in self.enabled for control_id in control_ids)

    def section_blocks(self, section: str) -> list[Block]:
        """The statements of the section's enabled controls: paragraphs, and under a control's ``group``
        a bullet list (or a definition list for controls with a ``term``)."""
        blocks: list[Block] = []
        lead: Block | None = None
        listed: Block | None = None
        for item in self.enabled.values():
            if item.section != section:
                continue
            text = item.text(self.context)
            if not item.group:
                blocks.append(Block("p", text=text, controls=(item.id,)))
                lead = listed = None
                continue
            kind: Literal["dl", "ul"] = "dl" if item.term else "ul"
            if lead is None or listed is None or lead.text != item.group or listed.kind != kind:
                lead, listed = Block("p", text=item.group), Block(kind)
                blocks += [lead, listed]
            if item.term:
                listed.pairs.append((item.term, text))
            else:
                listed.items.append(text)
            listed.controls = lead.controls = (*listed.controls, item.id)
        return blocks


def _rule_blocks(statements: _Statements, rule: PolicyRule, position: int) -> list[Block]:
    policy = statements.context.policy
    verification = rule.verification
    candidates: list[tuple[str, str, str]] = [
        ("policy.first_matching_rule", "Rule", f"{rule.id} (number {position}, tried in order)"),
        ("policy.first_matching_rule", "Applies to", _matches(rule)),
        ("collect.required_fields", "Required fields", ", ".join(rule.required_fields) or "none"),
        ("verify.foreign_customer", "Foreign customer verification", _requirement_text(verification)),
        ("verify.us_person_baseline", "U.S.-person baseline checks",
         ", ".join(verification.us_person_baseline) or "none"),
        ("verify.foreign_customer", "Foreign beneficial owner verification",
         _requirement_text(verification.beneficial_owners) if verification.beneficial_owners else "not applicable"),
        ("pending.restrictions", "While verification is pending", _restrictions(list(rule.pending.restrictions))),
        ("pending.deadline", "Deadline", f"{_days(rule.pending.deadline)} after the decision"),
        ("pending.deadline", "Failure action", f"{rule.failure_action}: {FAILURE_WORDS[rule.failure_action]}"
         + (f" ({_restrictions(list(rule.failure_restrictions))})" if rule.failure_restrictions else "")),
        ("reverification.periodic", "Re-verification interval", f"{rule.reverification_interval_days} days"),
        ("notice.recorded", "Notice version", policy.notice_version_for(rule)),
    ]
    if rule.redress:
        candidates.append(("redress.reopens", "Redress", rule.redress))
    pairs = [(term, text) for control_id, term, text in candidates if statements.on(control_id)]
    controls = tuple(dict.fromkeys(control_id for control_id, _term, _text in candidates
                                   if statements.on(control_id)))
    blocks = [Block("h3", text=f"Rule {rule.id}", ref=f"rule-{rule.id}", controls=("policy.first_matching_rule",))]
    if rule.description:
        blocks.append(Block("p", text=rule.description.strip(), controls=("policy.first_matching_rule",)))
    blocks.append(Block("dl", pairs=pairs, controls=controls))
    return blocks


def _notice_paragraphs(version: str) -> list[str]:
    if version not in notice_versions():
        return []
    paragraphs = [" ".join(line.strip() for line in chunk.splitlines()).replace("**", "")
                  for chunk in notice_text(version).split("\n\n")]
    return [paragraph for paragraph in paragraphs if paragraph and not paragraph.startswith("#")]


def _table(statements: _Statements, control_ids: tuple[str, ...], header: list[str],
           rows: list[list[str]]) -> list[Block]:
    """A table stating ``control_ids``, or nothing when one of them is off."""
    if not statements.on(*control_ids):
        return []
    return [Block("table", header=header, rows=rows, controls=control_ids)]


def _policy_blocks(statements: _Statements) -> dict[str, list[Block]]:
    """The policy's content laid out per section, each block tagged with the controls performing it."""
    policy = statements.context.policy
    rules = policy.rules
    on = statements.on
    blocks: dict[str, list[Block]] = {}
    a1 = _table(statements, ("policy.first_matching_rule",),
                ["#", "Rule", "Account type", "Channel", "Risk tier", "Customer", "Failure action"],
                [[str(position), rule.id, _any(rule.match.account_type), _any(rule.match.channel),
                  _any(rule.match.risk_tier), _any(rule.match.customer_kind), rule.failure_action]
                 for position, rule in enumerate(rules, start=1)])
    if on("policy.first_matching_rule"):
        for position, rule in enumerate(rules, start=1):
            a1.extend(_rule_blocks(statements, rule, position))
    blocks["A1"] = a1
    blocks["A2"] = _table(statements, ("verify.us_person_baseline",), ["Rule", "U.S.-person baseline checks"],
                          [[rule.id, ", ".join(rule.verification.us_person_baseline) or "none"] for rule in rules])
    blocks["A3"] = _table(statements, ("collect.required_fields",), ["Rule", "Required fields"],
                          [[rule.id, ", ".join(rule.required_fields) or "none"] for rule in rules])
    blocks["A4"] = _table(statements, ("verify.foreign_customer",),
                          ["Rule", "Foreign customer", "Foreign beneficial owner"],
                          [[rule.id, _requirement_text(rule.verification),
                            _requirement_text(rule.verification.beneficial_owners)
                            if rule.verification.beneficial_owners else "not applicable"] for rule in rules])
    vendor_rules = [rule.id for rule in rules if "vendor_idv" in rule.verification.methods
                    or (rule.verification.beneficial_owners is not None
                        and "vendor_idv" in rule.verification.beneficial_owners.methods)]
    blocks["A5"] = [Block("p", text="Rules that accept the vendor's check: " + ", ".join(vendor_rules) + ".",
                          controls=("vendor.generic_adapter",))] if on("vendor.generic_adapter") else []
    a6 = _table(statements, ("pending.restrictions", "pending.deadline"),
                ["Rule", "While pending", "Deadline", "On failure"],
                [[rule.id, _restrictions(list(rule.pending.restrictions)), _days(rule.pending.deadline),
                  _failure(rule)] for rule in rules])
    if on("redress.reopens"):
        a6 += [Block("p", text="Redress:", controls=("redress.reopens",)),
               Block("quote", items=[policy.redress.strip()], controls=("redress.reopens",))]
    blocks["A6"] = a6
    blocks["A7"] = _table(statements, ("reverification.periodic",), ["Rule", "Re-verification interval"],
                          [[rule.id, f"{rule.reverification_interval_days} days"] for rule in rules])
    a8: list[Block] = []
    if on("notice.recorded"):
        versions = sorted({policy.notice_version, *(policy.notice_version_for(rule) for rule in rules)})
        a8 = [Block("p", text="Notice versions in this policy: " + ", ".join(versions) + ".",
                    controls=("notice.recorded",)),
              *_table(statements, ("notice.recorded",), ["Rule", "Notice version"],
                      [[rule.id, policy.notice_version_for(rule)] for rule in rules])]
        notice = _notice_paragraphs(policy.notice_version)
        if notice:
            a8.append(Block("p", text=f"The text of notice {policy.notice_version}:", controls=("notice.recorded",)))
            a8.append(Block("quote", items=notice, controls=("notice.recorded",)))
    blocks["A8"] = a8
    return blocks


def build_written_cip(policy: CipPolicy, profile: RegulatoryProfile, settings: Settings | None = None) -> WrittenCip:
    """The written CIP as sections and blocks, ready to render: the statements of the controls that
    ``policy``, ``profile`` and ``settings`` enable, and the policy's rules."""
    statements = _Statements(ControlContext(policy, profile, settings))
    preamble = statements.section_blocks("")
    if statements.on("cip.generated_from_policy"):
        preamble.append(Block("dl", controls=("cip.generated_from_policy",), pairs=[
            ("Policy", f"{policy.policy_id} version {policy.version}: {policy.title}"),
            ("Effective date", policy.effective_date.isoformat() if policy.effective_date else "on adoption"),
            ("Program owner", policy.program_owner),
            ("Regulatory profile", f"{profile.id}: {profile.title} ({profile.source})"),
            ("Rules", ", ".join(rule.id for rule in policy.rules)),
        ]))
    policy_blocks = _policy_blocks(statements)
    sections: list[Section] = []
    for requirement, requirement_title in REQUIREMENTS.items():
        blocks = statements.section_blocks(requirement) + policy_blocks.get(requirement, [])
        if blocks:
            title = SECTION_TITLES.get(requirement, requirement_title[:1].upper() + requirement_title[1:])
            sections.append(Section(requirement, title, blocks))
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


def render_written_cip(policy: CipPolicy, profile: RegulatoryProfile, format: Format = "md",
                        settings: Settings | None = None) -> str:
    """The written CIP as Markdown (``md``) or HTML (``html``)."""
    if format not in ("md", "html"):
        raise ValueError(f"unknown format {format!r} (md or html)")
    document = build_written_cip(policy, profile, settings)
    template = _environment(format).get_template(f"written_cip.{format}.j2")
    return template.render(document=document)

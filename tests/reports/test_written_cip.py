"""The written CIP generated from the policy and the profile (A1-A8): every section and every rule
appears in both formats, each rule with its methods, restrictions, deadline, failure action,
re-verification interval and notice version; free text is escaped in HTML and made inert in Markdown."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import ClassVar

import pytest
import yaml

from cloudcip.profiles import default_policy_text
from cloudcip.reports.written_cip import markdown_text, render_written_cip
from cloudcip.verification.policy import CipPolicy, default_policy, policy_from_mapping
from cloudcip.verification.profile import default_profile, load_profile

SECTIONS = ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"]


class _Outline(HTMLParser):
    """Collects h2 headings, h3 ids, the text of each element, and checks tags balance."""

    VOID: ClassVar[frozenset[str]] = frozenset({"meta", "br", "hr", "img", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.h2: list[str] = []
        self.h3_ids: list[str] = []
        self.scripts = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts += 1
        if tag == "h3":
            self.h3_ids.append(dict(attrs).get("id") or "")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (self.stack, tag)
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.stack and self.stack[-1] == "h2":
            self.h2.append(data)


def _outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    return parser


@pytest.mark.parametrize("format", ["md", "html"])
def test_every_section_and_every_rule_is_there(format: str) -> None:
    policy, profile = default_policy(), default_profile()
    document = render_written_cip(policy, profile, format=format)  # type: ignore[arg-type]
    if format == "md":
        headings = re.findall(r"^## (.+)$", document, flags=re.MULTILINE)
        rule_headings = re.findall(r"^### Rule (.+)$", document, flags=re.MULTILINE)
    else:
        outline = _outline(document)
        headings = outline.h2
        rule_headings = [ref.removeprefix("rule-") for ref in outline.h3_ids]
    for section in SECTIONS:
        assert any(heading.startswith(f"{section}. ") for heading in headings), (section, headings)
    for section in ("B1", "B5", "H1", "H3"):  # retention, legal holds, the certification, copies on request
        assert any(heading.startswith(f"{section}. ") for heading in headings), (section, headings)
    assert [heading.startswith(f"{section}. ") for section, heading in zip(SECTIONS, headings, strict=False)] == \
        [True] * len(SECTIONS)  # A1..A8 in order
    assert rule_headings == [rule.id for rule in policy.rules]
    for rule in policy.rules:
        assert rule.id in document


def _rule_text(document: str, rule_id: str) -> str:
    start = document.index(f"### Rule {rule_id}\n")
    end = document.find("\n### ", start + 1)
    return document[start:end if end != -1 else None]


def test_each_rule_is_described_in_full() -> None:
    policy = default_policy()
    document = render_written_cip(policy, default_profile())
    for rule in policy.rules:
        text = _rule_text(document, rule.id)
        for method in rule.verification.methods:
            assert method in text
        for restriction in rule.pending.restrictions:
            assert restriction.label in text
        assert f"{rule.pending.deadline.days} days after the decision" in text
        assert f"**Failure action**: {rule.failure_action}" in text
        assert f"{rule.reverification_interval_days} days" in text
        assert policy.notice_version_for(rule) in text
    trial = _rule_text(document, "trial")
    assert "spending capped at 50 USD (spend_limit_usd=50)" in trial
    assert "at most 2 instances (max_instances=2)" in trial


def test_profile_figures_drive_the_statements(tmp_path: object) -> None:
    document = render_written_cip(default_policy(), default_profile())
    assert "no earlier than 180 days after the determination" in document
    assert "lasts 365 days unless extended" in document
    assert "between 1 and 30 days" in document

    from pathlib import Path

    source = yaml.safe_load((Path(__file__).parents[2] / "src/cloudcip/profiles/eo13984-nprm-2024.yaml").read_text())
    source["id"] = "bank-cip"
    source["special_measures"]["lead_time_days"] = 90
    source["verification"]["max_deadline_days"] = 45
    path = Path(str(tmp_path)) / "bank.yaml"
    path.write_text(yaml.safe_dump(source))
    bank = render_written_cip(default_policy(), load_profile(path), format="html")
    assert "no earlier than 90 days after the determination" in bank and "bank-cip" in bank
    assert "between 1 and 45 days" in bank


def _hostile_policy() -> CipPolicy:
    data = yaml.safe_load(default_policy_text())
    data["title"] = "CIP <script>alert(1)</script> & co"
    data["redress"] = "Write to <b>us</b> | *now* & [click](http://x)"
    data["rules"][0]["description"] = "Resellers </dd></dl><script>bad()</script>"
    data["rules"][1]["redress"] = "# not a heading\n- not a list"
    return policy_from_mapping(data)


def test_html_escapes_free_text() -> None:
    document = render_written_cip(_hostile_policy(), default_profile(), format="html")
    outline = _outline(document)  # still balanced: nothing broke out of its element
    assert outline.scripts == 0
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in document
    assert "Resellers &lt;/dd&gt;&lt;/dl&gt;&lt;script&gt;bad()&lt;/script&gt;" in document
    assert "<script>" not in document and "<b>us</b>" not in document
    assert "CIP <script>alert(1)</script> & co" in "".join(outline.text)


def test_markdown_makes_free_text_inert() -> None:
    document = render_written_cip(_hostile_policy(), default_profile(), format="md")
    assert "<script>" not in document and "<b>" not in document
    assert r"\<script\>alert(1)\</script\>" in document
    assert r"\*now\*" in document and r"\[click\]" in document
    assert not re.search(r"^# not a heading", document, flags=re.MULTILINE)
    assert markdown_text("email_otp and _x_") == r"email_otp and \_x\_"
    assert markdown_text("a\n# b") == "a # b"
    assert markdown_text("&amp; &") == "&amp;amp; &"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render_written_cip(default_policy(), default_profile(), format="pdf")  # type: ignore[arg-type]

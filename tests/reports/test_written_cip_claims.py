"""A1: the written CIP states only controls that exist, that the policy in force enables, and that a
test drives through the API or the CLI.

The document is rendered; every block must name the controls it states (``Block.controls``); each
stated control must resolve to the code that performs it (``performed_by``), be switched on by the
policy rendered, and have a test marked ``control("<id>")`` that also carries a ``requirement``
marker (it drives the control through the HTTP API or the CLI). A control switched off by the policy
says nothing. Phrases of statements the written CIP used to make without a control behind them stay
out until a control of the named id lands.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from tests import applicants
from typer.testing import CliRunner

from cloudcip.cli.main import app
from cloudcip.profiles import default_policy_text
from cloudcip.reports.controls import (
    Control,
    ControlContext,
    all_controls,
    control,
    enabled_controls,
    unresolved,
)
from cloudcip.reports.markers import marked_tests
from cloudcip.reports.written_cip import build_written_cip, render_written_cip
from cloudcip.settings import Settings
from cloudcip.verification.policy import CipPolicy, default_policy, policy_from_mapping
from cloudcip.verification.profile import default_profile

TESTS = marked_tests(Path(__file__).resolve().parents[1])


def _settings(tmp_path: Path, **changes: object) -> Settings:
    return replace(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}"), **changes)


def _policy_without(*methods: str) -> CipPolicy:
    """The default policy with ``methods`` dropped from every rule (rules keep something to require)."""
    data = yaml.safe_load(default_policy_text())
    for rule in data["rules"]:
        for requirement in (rule["verification"], rule["verification"].get("beneficial_owners")):
            if requirement is None:
                continue
            requirement["methods"] = [m for m in requirement["methods"] if m not in methods]
            requirement["any_of"] = [[m for m in group if m not in methods] for group in requirement.get("any_of", [])]
            requirement["any_of"] = [group for group in requirement["any_of"] if group]
            counts = requirement.setdefault("require", {})
            counts.pop("documentary", None)
            counts["non_documentary"] = 1
            requirement["methods"] = list(dict.fromkeys([*requirement["methods"], "email_otp"]))
            requirement["any_of"] = [group for group in requirement["any_of"]
                                     if all(m in requirement["methods"] for m in group)]
        rule["verification"]["us_person_baseline"] = [m for m in rule["verification"].get("us_person_baseline", [])
                                                      if m not in methods]
    return policy_from_mapping(data)


def _cases(tmp_path: Path) -> list[tuple[str, CipPolicy, Settings | None]]:
    return [
        ("default", default_policy(), None),
        ("veriff configured", default_policy(), _settings(tmp_path, veriff_secret="s3cret")),
        ("no documents, no vendor", _policy_without("passport", "national_id_card", "registration_document",
                                                    "vendor_idv"), None),
    ]


def test_every_block_names_the_enabled_controls_it_states(tmp_path: Path) -> None:
    for name, policy, settings in _cases(tmp_path):
        context = ControlContext(policy, default_profile(), settings)
        enabled = {item.id for item in enabled_controls(context)}
        document = build_written_cip(policy, default_profile(), settings)
        for block in document.blocks:
            assert block.controls, f"{name}: a {block.kind} block states no control: {block.text or block.pairs}"
            assert set(block.controls) <= enabled, (name, block.controls)
        assert set(document.stated_controls) == enabled, f"{name}: enabled controls left unstated"


@pytest.mark.parametrize("item", all_controls(), ids=lambda item: item.id)
def test_each_control_is_performed_by_code_that_exists(item: Control) -> None:
    assert item.performed_by, f"{item.id} names no code that performs it"
    assert unresolved([item]) == []
    assert item.section == "" or item.section[0] in "ABCDEFGH", item.section
    assert item.text(ControlContext(default_policy(), default_profile())).strip()


@pytest.mark.parametrize("item", all_controls(), ids=lambda item: item.id)
def test_each_control_is_driven_through_the_api_or_cli_by_a_marked_test(item: Control) -> None:
    marked = [test for test in TESTS if item.id in test.controls]
    assert marked, f"no test is marked @pytest.mark.control({item.id!r})"
    driving = [test.nodeid for test in marked if test.requirements]
    assert driving, (f"the tests marked control({item.id!r}) carry no requirement marker: none drives it "
                     f"through the API or the CLI ({[test.nodeid for test in marked]})")


def test_every_control_marker_names_a_control_of_the_registry() -> None:
    for test in TESTS:
        for control_id in test.controls:
            control(control_id)  # UnknownControl names the bad marker


def test_a_control_the_policy_switches_off_says_nothing(tmp_path: Path) -> None:
    policy = _policy_without("passport", "national_id_card", "registration_document", "vendor_idv")
    document = render_written_cip(policy, default_profile())
    for method in ("passport", "national_id_card", "registration_document", "vendor_idv"):
        assert f"**{method}**" not in document
    assert "## A5." not in document  # no vendor: nothing to say about one
    assert "**email_otp**" in document
    assert "Veriff" not in render_written_cip(default_policy(), default_profile())
    assert "Veriff" in render_written_cip(default_policy(), default_profile(),
                                          settings=_settings(tmp_path, veriff_secret="s3cret"))


def test_profile_bounds_are_stated_only_when_the_policy_keeps_them() -> None:
    data = yaml.safe_load(default_policy_text())
    data["rules"][0]["pending"]["deadline"] = "P60D"
    data["rules"][0]["reverification_interval_days"] = 2000
    outside = render_written_cip(policy_from_mapping(data), default_profile())
    inside = render_written_cip(default_policy(), default_profile())
    assert "lies between 1 and 30 days" in inside and "lies between" not in outside
    assert "1095" in inside and "1095" not in outside


#: Statements the written CIP made before any control performed them, each with the control id that
#: must land (with its test) before the phrase may come back.
NOT_YET_BUILT = [
    ("machine-readable zone", "method.passport_mrz"),
    ("MRZ", "method.passport_mrz"),
    ("authorisation by the payment processor", "method.payment_processor_authorisation"),
    ("signatories", "collect.signatories"),
    ("persons with authority", "collect.signatories"),
    ("issuer country", "field.card_issuer_country"),
]


@pytest.mark.parametrize(("phrase", "control_id"), NOT_YET_BUILT)
def test_statements_of_controls_not_built_stay_out(phrase: str, control_id: str, tmp_path: Path) -> None:
    # a control that lands brings its own statement and test: its row leaves this list (the retention purge,
    # legal holds, copies on request and the Reseller termination clock have)
    assert control_id not in {item.id for item in all_controls()}, f"{control_id} has landed: remove its row"
    for _name, policy, settings in _cases(tmp_path):
        for format in ("md", "html"):
            document = render_written_cip(policy, default_profile(), format=format, settings=settings)  # type: ignore[arg-type]
            assert phrase.lower() not in document.lower(), (phrase, control_id)


runner = CliRunner()


@pytest.mark.requirement("A1")
@pytest.mark.control("cip.generated_from_policy", "policy.first_matching_rule")
def test_the_written_cip_and_the_decisions_come_from_the_same_policy(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """``cloudcip cip render`` and ``cloudcip applications submit`` under one ``CLOUDCIP_POLICY``: the
    rule the written CIP describes is the rule that decides."""
    data = yaml.safe_load(default_policy_text())
    rule = next(item for item in data["rules"] if item["id"] == "standard-individual")
    rule["id"] = "self-serve-individuals"
    rule["pending"]["deadline"] = "P9D"
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("CLOUDCIP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CLOUDCIP_POLICY", str(policy_file))
    assert runner.invoke(app, ["init"]).exit_code == 0
    rendered = runner.invoke(app, ["cip", "render"])
    assert rendered.exit_code == 0, rendered.output
    assert "### Rule self-serve-individuals" in rendered.stdout and "9 days after the decision" in rendered.stdout
    application = tmp_path / "application.json"
    application.write_text(json.dumps(applicants.APPLICATION))
    submitted = runner.invoke(app, ["applications", "submit", str(application)])
    assert submitted.exit_code == 0, submitted.output
    answer = json.loads(submitted.stdout)
    assert answer["policy_rule"] == "self-serve-individuals"
    assert answer["decision"] == "pending_evidence"

"""CIP policy loading and validation (A1, A4, A6, A7, A8): the default is valid, every kind of bad key
or value is reported with its dotted path, first match wins, wildcards work."""

from __future__ import annotations

import copy
import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudcip.profiles import default_policy_text, notice_text, notice_versions
from cloudcip.verification.policy import (
    CipPolicy,
    PolicyError,
    Restriction,
    default_policy,
    load_policy,
    merge_restrictions,
    policy_from_mapping,
    policy_from_text,
    policy_summary,
    policy_to_yaml,
)
from cloudcip.verification.policy_terms import ACCOUNT_TYPES, CHANNELS, CUSTOMER_KINDS, RISK_TIERS, deadline_from
from cloudcip.verification.profile import (
    ProfileError,
    check_policy_against_profile,
    default_profile,
    load_profile,
)


def _default_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(default_policy_text())
    return data


def _problems(data: Any) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        policy_from_mapping(data)
    return caught.value.problems


def test_default_policy_is_valid_and_fits_the_default_profile() -> None:
    policy = default_policy()
    assert isinstance(policy, CipPolicy)
    assert len(policy.rules) >= 5
    assert check_policy_against_profile(policy, default_profile()) == []


def test_default_policy_covers_every_combination() -> None:
    policy = default_policy()
    for combination in itertools.product(ACCOUNT_TYPES, CHANNELS, RISK_TIERS, CUSTOMER_KINDS):
        rule = policy.rule_for(*combination)
        assert rule.match.matches(*combination)


def test_first_match_wins_and_wildcards() -> None:
    policy = default_policy()
    assert policy.rule_for("reseller", "self_serve", "high", "entity").id == "reseller-entity"
    assert policy.rule_for("standard", "self_serve", "high", "individual").id == "high-risk"
    assert policy.rule_for("trial", "marketplace", "low", "entity").id == "trial"
    assert policy.rule_for("standard", "marketplace", "low", "individual").id == "standard-individual-assisted"
    assert policy.rule_for("standard", "self_serve", "low", "individual").id == "standard-individual"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["rules"][2]["verification"]["methods"].__setitem__(0, "fax"),
         "rules.2.verification.methods.0: unknown method 'fax'"),
        (lambda d: d["rules"][0].__setitem__("colour", "blue"), "rules.0.colour: unknown key"),
        (lambda d: d.__setitem__("extra_top", 1), "extra_top: unknown key"),
        (lambda d: d["rules"][1].pop("failure_action"), "rules.1.failure_action: required key is missing"),
        (lambda d: d["rules"][1].__setitem__("failure_action", "explode"),
         "rules.1.failure_action: unknown failure action 'explode'"),
        (lambda d: d["rules"][3]["match"].__setitem__("channel", ["self_serve", "carrier_pigeon"]),
         "rules.3.match.channel.1: unknown channel 'carrier_pigeon'"),
        (lambda d: d["rules"][3]["match"].__setitem__("risk_tier", "extreme"),
         "rules.3.match.risk_tier.0: unknown risk tier 'extreme'"),
        (lambda d: d["rules"][0]["pending"]["restrictions"].append("no_fun"),
         "rules.0.pending.restrictions.5: unknown restriction 'no_fun'"),
        (lambda d: d["rules"][0]["pending"]["restrictions"].append({"max_instances": -1}),
         "rules.0.pending.restrictions.5.max_instances: a limit must be a number >= 0"),
        (lambda d: d["rules"][0]["pending"]["restrictions"].append("spend_limit_usd"),
         "rules.0.pending.restrictions.5: 'spend_limit_usd' needs a limit"),
        (lambda d: d["rules"][0]["pending"].__setitem__("deadline", "two weeks"),
         "rules.0.pending.deadline: not a duration"),
        (lambda d: d["rules"][0]["pending"].__setitem__("deadline", 0),
         "rules.0.pending.deadline: a deadline must be after the decision"),
        (lambda d: d["rules"][0]["verification"]["require"].__setitem__("documentary", 2),
         "rules.0.verification.require.documentary: asks for 2 documentary method(s)"),
        (lambda d: d["rules"][0]["verification"]["require"].__setitem__("biometric", 1),
         "rules.0.verification.require.biometric: unknown key"),
        (lambda d: d["rules"][2]["verification"]["any_of"][0].append("passport_card"),
         "rules.2.verification.any_of.0.2: unknown method 'passport_card'"),
        (lambda d: d["rules"][1]["verification"].__setitem__("any_of", [["registration_document"]]),
         "rules.1.verification.any_of.0.0: method 'registration_document' is not in methods"),
        (lambda d: d["rules"][0]["verification"]["beneficial_owners"]["methods"].__setitem__(1, "selfie"),
         "rules.0.verification.beneficial_owners.methods.1: unknown method 'selfie'"),
        (lambda d: d["rules"][1].__setitem__("required_fields", ["name", "shoe_size"]),
         "rules.1.required_fields.1: unknown field 'shoe_size'"),
        (lambda d: d["rules"][1].__setitem__("reverification_interval_days", 0),
         "rules.1.reverification_interval_days:"),
        (lambda d: d["rules"][1].__setitem__("failure_action", "restrict"),
         "rules.1.failure_restrictions: failure_action 'restrict' needs at least one restriction"),
        (lambda d: d["rules"][4]["verification"].pop("beneficial_owners"),
         "rules.4.verification.beneficial_owners: a rule covering entities must say how"),
        (lambda d: d["rules"][4].__setitem__("id", "reseller-entity"),
         "rules.4.id: duplicate rule id 'reseller-entity' (also rules.0)"),
        (lambda d: d["rules"].insert(0, copy.deepcopy(d["rules"][0]) | {"id": "x", "match": {}}),
         "rules.1.match: never applies: rule 'x' (rules.0)"),
        (lambda d: d.__setitem__("rules", d["rules"][:2]), "rules: no rule matches account_type=standard"),
        (lambda d: d["review_triggers"].__setitem__("screening_block", "proceed"),
         "review_triggers.screening_block: a screening block never proceeds"),
        (lambda d: d["review_triggers"].__setitem__("risk_tier_high", "shrug"),
         "review_triggers.risk_tier_high: unknown outcome 'shrug'"),
    ],
)
def test_each_bad_key_or_value_names_its_dotted_path(mutate: Any, expected: str) -> None:
    data = _default_data()
    mutate(data)
    problems = _problems(data)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    data = _default_data()
    data["rules"][0]["verification"]["methods"][0] = "fax"
    data["rules"][1]["failure_action"] = "explode"
    data["rules"][2]["unknown"] = True
    problems = _problems(data)
    assert len(problems) >= 3
    with pytest.raises(PolicyError) as caught:
        policy_from_mapping(data)
    assert "rules.0.verification.methods.0: unknown method 'fax'" in str(caught.value)


def test_not_a_mapping_and_bad_yaml(tmp_path: Path) -> None:
    assert _problems(["a", "list"])[0].startswith("(top):")
    with pytest.raises(PolicyError, match="not valid YAML at line"):
        policy_from_text("rules: [\n  - id: x\n  bad: : :\n")
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")


def test_load_policy_from_a_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(default_policy_text(), encoding="utf-8")
    assert load_policy(path) == default_policy()
    path.write_text(policy_to_yaml(default_policy()), encoding="utf-8")
    assert load_policy(path) == default_policy()


def test_deadline_forms() -> None:
    assert deadline_from(14) == timedelta(days=14)
    assert deadline_from("P14D") == timedelta(days=14)
    assert deadline_from("P2W") == timedelta(days=14)
    assert deadline_from("PT72H") == timedelta(hours=72)
    assert deadline_from("P1DT12H") == timedelta(days=1, hours=12)
    for bad in ("P", "14", "P-1D", True, 1.5, "PT0H"):
        with pytest.raises(ValueError):
            deadline_from(bad)


def test_restrictions_parse_and_merge_stricter_limit() -> None:
    data = _default_data()
    rule = policy_from_mapping(data).rule_by_id("trial")
    labels = [item.label for item in rule.pending.restrictions]
    assert "no_gpu" in labels and "max_instances=2" in labels and "spend_limit_usd=50" in labels
    merged = merge_restrictions(
        [Restriction(name="max_instances", value=5), Restriction(name="no_gpu")],
        [Restriction(name="max_instances", value=2), Restriction(name="enhanced_monitoring")],
    )
    assert [item.label for item in merged] == ["max_instances=2", "no_gpu", "enhanced_monitoring"]


def test_policy_summary_lists_every_rule() -> None:
    policy = default_policy()
    summary = policy_summary(policy)
    for rule in policy.rules:
        assert rule.id in summary
    assert "max_instances=2" in summary and "deadline 14 days" in summary


def test_profile_defaults_and_errors(tmp_path: Path) -> None:
    profile = load_profile("eo13984-nprm-2024")
    assert profile.retention.years == 2
    assert profile.special_measures.lead_time_days == 180
    assert profile.special_measures.duration_days == 365
    assert profile.resellers.termination_days == 30
    assert profile.cip_copies.days == 10
    text = yaml.safe_load((Path(__file__).parents[2] / "src/cloudcip/profiles/eo13984-nprm-2024.yaml").read_text())
    text["retention"]["years"] = 5
    custom = tmp_path / "bank.yaml"
    custom.write_text(yaml.safe_dump(text))
    assert load_profile(custom).retention.years == 5
    text["retention"]["extra"] = 1
    custom.write_text(yaml.safe_dump(text))
    with pytest.raises(ProfileError, match=r"retention\.extra: unknown key"):
        load_profile(custom)
    with pytest.raises(ProfileError, match="no shipped profile"):
        load_profile("no-such-profile")


def test_retention_ends_two_years_after_the_later_of_closure_and_last_access() -> None:
    from datetime import UTC, datetime

    profile = default_profile()
    closed = datetime(2025, 3, 1, tzinfo=UTC)
    accessed = datetime(2025, 6, 1, tzinfo=UTC)
    assert profile.retention_ends(closed, accessed) == datetime(2027, 6, 1, tzinfo=UTC)
    assert profile.retention_ends(accessed, closed) == datetime(2027, 6, 1, tzinfo=UTC)
    assert profile.retention_ends(None, accessed) is None  # still open
    assert profile.retention_ends(datetime(2024, 2, 29, tzinfo=UTC), None) == datetime(2026, 2, 28, tzinfo=UTC)


def test_policy_outside_the_profile_is_reported() -> None:
    data = _default_data()
    data["rules"][0]["pending"]["deadline"] = "P60D"
    data["rules"][1]["reverification_interval_days"] = 3000
    data["rules"][1]["required_fields"] = ["name", "address", "email"]
    data["notice_version"] = "notice-1999-01"
    problems = check_policy_against_profile(policy_from_mapping(data), default_profile())
    assert any(p.startswith("rules.0.pending.deadline: longer than") for p in problems)
    assert any(p.startswith("rules.1.reverification_interval_days:") for p in problems)
    assert any(p.startswith("rules.1.required_fields: does not require 'national_id'") for p in problems)
    assert any(p.startswith("notice_version: no notice text 'notice-1999-01'") for p in problems)


def test_notices_are_versioned() -> None:
    versions = notice_versions()
    assert "notice-2024-01" in versions
    assert "Executive Order 13984" in notice_text("notice-2024-01")
    with pytest.raises(KeyError):
        notice_text("../default-policy")

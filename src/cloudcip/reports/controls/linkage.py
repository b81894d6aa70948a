"""Controls of linked accounts, ban evasion and the risk score that the written CIP states (G1, G2, A6)."""

from __future__ import annotations

from cloudcip.reports.controls import Control, ControlContext


def _ban_evasion_reviewed(context: ControlContext) -> bool:
    return context.policy.review_triggers.ban_evasion_link == "in_review"


def _ban_evasion_statement(context: ControlContext) -> str:
    return ("When an application is submitted, its identifiers are compared, as keyed blind indexes and never in "
            "the clear, with those of every customer, beneficial owner and sub-lessee on record. A strong link "
            "(the same card, bank account, crypto wallet, national identification or passport number, phone "
            "number, e-mail address once normalised, or device) to an account that was refused, closed or "
            "restricted, or to a customer with a confirmed designated-person hit, a confirmed peer indicator or an "
            "incident report, sends the application to a person for review, the answer naming the link (its kind "
            "and the masked identifier). A weak link (the same signup address, its /24 or /64 network, or the "
            "ASN of a hosting provider) is noted for the reviewer and never refuses or holds an application by "
            "itself: strangers share carrier networks.")


def _risk_statement(context: ControlContext) -> str:
    scoring = context.policy.risk_score
    weights = ", ".join(f"{name} {weight:g}" for name, weight in scoring.weights.items())
    lower = 0
    bands = []
    for band in scoring.bands:
        bands.append(f"{lower}-{band.up_to} {band.tier}")
        lower = band.up_to + 1
    return ("Each account has a risk score from 0 to 100, the sum of named factors, each a value from 0 to 1 "
            "read from the account's records times the factor's weight in this policy (points at full value): "
            f"{weights}. The score maps to a tier by the policy's bands ({', '.join(bands)}). Every answer "
            "(GET /v1/accounts/{id}/risk, cloudcip risk show) lists each factor with its value, weight, "
            "contribution and why; cloudcip serve recomputes the scores of the accounts whose evidence, links, "
            "signals, hits, matches or incident reports changed, every 10 minutes.")


CONTROLS: tuple[Control, ...] = (
    Control(
        id="linkage.ban_evasion", section="G1", requirements=("G1", "A6"),
        statement=_ban_evasion_statement,
        performed_by=("cloudcip.linkage.hook.LinkageSignupHook", "cloudcip.linkage.queries.LinkReader.evasion_check",
                      "cloudcip.verification.applications.ApplicationService.submit",
                      "cloudcip.verification.decision.decide"),
        switch="review_triggers.ban_evasion_link: in_review", enabled=_ban_evasion_reviewed,
    ),
    Control(
        id="risk.score", section="G2", statement=_risk_statement,
        performed_by=("cloudcip.linkage.risk.RiskScorer", "cloudcip.linkage.risk.account_values",
                      "cloudcip.verification.risk_policy.RiskScorePolicy", "cloudcip.api.routers.links.account_risk"),
        switch="risk_score (weights and bands; the defaults when the policy leaves it out)",
    ),
)

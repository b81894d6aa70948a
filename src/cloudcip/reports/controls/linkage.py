"""Controls of linked accounts and ban evasion that the written CIP states (G1, A6)."""

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


CONTROLS: tuple[Control, ...] = (
    Control(
        id="linkage.ban_evasion", section="G1", requirements=("G1", "A6"),
        statement=_ban_evasion_statement,
        performed_by=("cloudcip.linkage.hook.LinkageSignupHook", "cloudcip.linkage.queries.LinkReader.evasion_check",
                      "cloudcip.verification.applications.ApplicationService.submit",
                      "cloudcip.verification.decision.decide"),
        switch="review_triggers.ban_evasion_link: in_review", enabled=_ban_evasion_reviewed,
    ),
)

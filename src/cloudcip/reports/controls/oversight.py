"""Controls of reseller oversight and of exemptions that the written CIP states (E1, E3, F1)."""

from __future__ import annotations

from cloudcip.reports.controls import Control, ControlContext


def _exemptions_applied(context: ControlContext) -> bool:
    return context.policy.exemptions.apply


CONTROLS: tuple[Control, ...] = (
    Control(
        id="resellers.register", section="E1",
        statement="Each reseller relationship is kept in a register (cloudcip resellers, /v1/resellers): the "
                  "reseller's customer record and its U.S./foreign determination (undetermined counts as "
                  "foreign), its Reseller Accounts, the contract and whether it holds the reseller's CIP "
                  "attestation, the certification dates and the next one due, and its status. The reseller's "
                  "own written CIP is kept on file as uploaded, every version, sealed at rest with its SHA-256.",
        performed_by=("cloudcip.resellers.register.ResellerRegister.add",
                      "cloudcip.resellers.register.ResellerRegister.upload_cip",
                      "cloudcip.resellers.register.foreign_resellers"),
    ),
    Control(
        id="resellers.scheduled_reviews", section="E3",
        statement="A scheduled review of each reseller falls due {profile.resellers.review_interval_days} days "
                  "after its last review, or after it was registered (regulatory profile {profile.id}): on that "
                  "day cloudcip serve opens it and "
                  "draws a random, reproducible sample of {profile.resellers.review_sample_size} of the "
                  "reseller's sub-lessees, whose verification evidence is requested and recorded adequate, "
                  "deficient or missing; reviews may also be opened at any time. Each review ends in a finding, "
                  "on the ledger.",
        performed_by=("cloudcip.resellers.scheduled.ScheduledReviews.run_due_reviews",
                      "cloudcip.resellers.oversight.ResellerOversight.draw_sample",
                      "cloudcip.resellers.oversight.ResellerOversight.record_result",
                      "cloudcip.runtime.run_reseller_reviews"),
    ),
    Control(
        id="resellers.termination_clock", section="E3", position=110, requirements=("E3", "G4"),
        statement="A finding of non-compliance or of malicious activity starts a termination clock of "
                  "{profile.resellers.termination_days} calendar days and makes an incident report, both in the "
                  "finding's transaction. The provider is reminded when 14, 7, 3 and 1 days are left; remediation "
                  "stops the clock only with a recorded reason and the evidence. On the last day the reseller's "
                  "accounts are restricted (no new resources, no sub-lessees) and the relationship is "
                  "terminated, each step on the ledger and notified.",
        performed_by=("cloudcip.resellers.oversight.ResellerOversight.record_finding",
                      "cloudcip.resellers.termination.ResellerTermination.run_clocks",
                      "cloudcip.resellers.termination.ResellerTermination.remediate",
                      "cloudcip.runtime.run_reseller_clocks"),
    ),
    Control(
        id="exemptions.applied", section="F1",
        statement="Exemptions granted to the provider by the Department of Commerce are recorded in an exemption "
                  "register (cloudcip exemptions, /v1/exemptions) with their basis, scope (the provider, an "
                  "account type or a lessee type), exempted steps, dates and conditions, and the notices of "
                  "significant change sent. A signup within an exemption's scope and period skips exactly the "
                  "exempted steps and says so in its decision and record; screening against designated persons "
                  "and special measures are never exempted. When an exemption expires or is revoked it stops "
                  "applying at once, and the accounts that used it are flagged for re-verification (at once on a "
                  "revocation, within ten minutes of an expiry).",
        performed_by=("cloudcip.exemptions.register.ExemptionRegister.grant",
                      "cloudcip.exemptions.register.ExemptionRegister.applying",
                      "cloudcip.exemptions.register.ExemptionRegister.flag_ended",
                      "cloudcip.runtime.flag_ended_exemptions"),
        switch="policy exemptions.apply", enabled=_exemptions_applied,
    ),
)

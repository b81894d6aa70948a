"""Controls of screening and special measures that the written CIP states (D1, D3, D4, D5)."""

from __future__ import annotations

from cloudcip.reports.controls import Control

CONTROLS: tuple[Control, ...] = (
    Control(
        id="measure.register", section="D1",
        statement="Special measures are kept in a register (cloudcip measures, POST /v1/measures): each a "
                  "jurisdiction or a foreign person, a prohibition or a set of conditions, with its determination "
                  "date and effective date, extensions and revocation on the ledger. The effective date is no "
                  "earlier than {profile.special_measures.lead_time_days} days after the determination, and a measure "
                  "lasts {profile.special_measures.duration_days} days unless extended (regulatory profile "
                  "{profile.id}); measures cover Reseller Accounts unless recorded otherwise.",
        performed_by=("cloudcip.screening.measures.add_measure", "cloudcip.screening.measures.extend_measure",
                      "cloudcip.screening.measures.revoke_measure"),
    ),
    Control(
        id="screen.signup", section="D3",
        statement="When an application is submitted, the customer and every beneficial owner are screened against "
                  "the designated-person lists in force and the special measures: names (transliterated to Latin "
                  "script) with their aliases, dates of birth, nationalities, identification numbers, email and "
                  "crypto-wallet addresses, and the jurisdictions the location evidence points to. Lists are imported "
                  "from the formats they are published in (OFAC, UN, BIS, FollowTheMoney, the provider's own CSV).",
        performed_by=("cloudcip.screening.service.ScreeningService.screen_person",
                      "cloudcip.verification.applications.ApplicationService.submit",
                      "cloudcip.screening.snapshots.in_force_snapshots"),
    ),
    Control(
        id="rescreen.on_change", section="D4",
        statement="When a list or a measure changes (a measure reaching its effective date included), every "
                  "customer and every sub-lessee of a Reseller Account is screened again: the re-screening job of "
                  "cloudcip serve (every five minutes) or cloudcip screen rescreen.",
        performed_by=("cloudcip.screening.rescreen.rescreen_if_changed", "cloudcip.screening.rescreen.rescreen_all",
                      "cloudcip.resellers.rescreen.rescreen_sub_lessees"),
    ),
    Control(
        id="hits.adjudicated", section="D5",
        statement="Possible matches found by re-screening are kept as hits that a person adjudicates (confirmed, "
                  "false positive with its reason, or escalated), on the ledger; a cleared false positive does not "
                  "come back while neither the screened record nor the list entry changes.",
        performed_by=("cloudcip.screening.hits.decide", "cloudcip.screening.hits.record_hits"),
    ),
)

"""Controls of sharing with peers and incident reports that the written CIP states (G3, G4)."""

from __future__ import annotations

from cloudcip.reports.controls import Control

CONTROLS: tuple[Control, ...] = (
    Control(
        id="sharing.export_scrubbed", section="G3",
        statement="Indicators of confirmed abuse leave cloudcip only as STIX 2.1 objects (cloudcip sharing export, "
                  "the TAXII 2.1 server at /taxii2/ with read and write grants per collection and per peer key), "
                  "each marked with a Traffic Light Protocol 2.0 level through the OASIS extension definition. "
                  "Before anything leaves, a scrubber keeps only the object properties allowed at that level and "
                  "removes every value of the customer's record that is not directly related to the threat; a "
                  "TLP:RED object is served only to the peer named as its recipient, and what a peer shared as "
                  "AMBER is not shared on.",
        performed_by=("cloudcip.sharing.export.export_incident", "cloudcip.sharing.scrubber.scrub",
                      "cloudcip.sharing.tlp.marking", "cloudcip.sharing.taxii.create_taxii_app"),
    ),
    Control(
        id="sharing.indicators_matched", section="G3", position=110,
        statement="Indicators that peers share with the provider (posted to its TAXII server, or pulled from "
                  "theirs by cloudcip sharing pull and on a schedule by cloudcip serve) are validated, kept with "
                  "their source and TLP level, and matched: network addresses against the accounts seen from them "
                  "within the indicator's window of validity, crypto-wallet and e-mail addresses against the "
                  "customers, beneficial owners and sub-lessees of Reseller Accounts that carry them (compared as "
                  "keyed blind indexes). Each match is held for a person to confirm or clear, with the reason, on "
                  "the ledger (cloudcip sharing matches, /v1/sharing/matches).",
        performed_by=("cloudcip.sharing.ingest.IndicatorIntake.take", "cloudcip.linkage.indicators.LinkedHolders",
                      "cloudcip.sharing.ingest.decide_match", "cloudcip.sharing.pull.pull_peer"),
    ),
    Control(
        id="incidents.kept", section="G4",
        statement="A confirmed case of malicious activity becomes an incident report (cloudcip incidents create, "
                  "POST /v1/incidents): the account, its access times and addresses, its identifiers, the "
                  "indicators and the actions taken. The report is sealed, its hash written to the ledger, and "
                  "never changed afterwards (cloudcip incidents verify); each time it, or a bundle made from it, "
                  "goes to someone, to whom and when is recorded.",
        performed_by=("cloudcip.incidents.service.IncidentService.create",
                      "cloudcip.incidents.service.IncidentService.verify",
                      "cloudcip.incidents.service.IncidentService.disclose"),
    ),
)

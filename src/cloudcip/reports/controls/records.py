"""Controls of the records lifecycle that the written CIP states (B1, B4, B5): retention after the
profile's period, and legal holds. Productions are stated with them once the written CIP has a
place for disclosures; the purge's own mechanics are the crypto-shredding of ``records.customer_store``.
"""

from __future__ import annotations

from cloudcip.reports.controls import Control

CONTROLS: tuple[Control, ...] = (
    Control(
        id="retention.purge", section="B1",
        statement="The records of each account (the customer's identifying information, the evidence and its "
                  "results, and the access history) are kept for {profile.retention.years} "
                  "years after the later of the account's closure and its last access (regulatory profile "
                  "{profile.id}), and then purged: the account's access history is deleted and, once every "
                  "account of the customer has reached that point, the customer's record and the evidence sealed "
                  "with it are crypto-shredded (their data key destroyed) and the sub-lessees of its Reseller Accounts "
                  "deleted. The provider reports each closure (POST /v1/accounts/{{id}}/close, cloudcip accounts "
                  "close, or an account.closed event), and no later decision moves it. The purge runs every day "
                  "in cloudcip serve (cloudcip retention plan shows what it will remove and when), each purge on "
                  "the ledger; an earlier purge needs a recorded legal basis: a registered court order or a "
                  "deletion the law allows.",
        performed_by=("cloudcip.records.retention.RetentionService.run",
                      "cloudcip.records.retention.RetentionService.plan",
                      "cloudcip.records.retention.RetentionService.early_purge_guard",
                      "cloudcip.records.lifecycle.AccountLifecycle.close",
                      "cloudcip.verification.account_moves.store_account_state",
                      "cloudcip.runtime.run_retention"),
        switch="always on; the period is the regulatory profile's retention.years",
    ),
    Control(
        id="records.legal_hold", section="B5", requirements=("B5", "B1", "B4"),
        statement="Legal processes (subpoenas, court orders, Commerce requests, law-enforcement requests) are "
                  "registered with their authority, reference, scope and due date. A legal hold placed on a "
                  "process freezes at once the records and access history of the customers and accounts in its "
                  "scope: nothing under a legal hold is purged, whatever its retention period says, and a hold is "
                  "released only with a reason on the ledger; overlapping holds each hold.",
        performed_by=("cloudcip.records.legal_process.LegalProcessService.register",
                      "cloudcip.records.preservation.HoldService.place",
                      "cloudcip.records.preservation.HoldService.release",
                      "cloudcip.records.holds.held_among"),
    ),
)

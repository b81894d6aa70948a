"""Controls of the access ledger that the written CIP states (A3, C1-C4)."""

from __future__ import annotations

from cloudcip.reports.controls import Control

CONTROLS: tuple[Control, ...] = (
    Control(
        id="access.recorded", section="A3", requirements=("A3", "C1", "C2", "C3"), position=900,
        statement="For the life of the account, cloudcip records the IP address and the time of each access and "
                  "administrative action that the provider's systems report to it (POST /v1/access-events, files "
                  "of JSON lines, OCSF or CloudTrail records, or a NATS JetStream stream), and answers for any "
                  "account the addresses it was reached from in a window, and for any address or network the "
                  "accounts seen from it.",
        performed_by=("cloudcip.api.routers.access.post_access_events", "cloudcip.cli.access.import_events",
                      "cloudcip.access.queries.account_ips", "cloudcip.access.queries.accounts_from"),
    ),
    Control(
        id="access.signals", section="C4",
        statement="Each address is enriched offline (registered country, and the ASN, Tor-exit and hosting ranges "
                  "the operator imports), and ongoing-verification signals are raised from the stored accesses: "
                  "an access from a jurisdiction under a special measure, from a country the verified identity "
                  "does not connect to, impossible travel, and a new administrative principal (the signal follower "
                  "of cloudcip serve).",
        performed_by=("cloudcip.access.follower.SignalFollower", "cloudcip.access.signals.account_signals"),
    ),
)

"""Controls of reporting to Commerce that the written CIP states (H1, H3): the certification from
live data, the certification gate, and copies of the written CIP on request."""

from __future__ import annotations

from cloudcip.reports.controls import Control, ControlContext


def _gate_on(context: ControlContext) -> bool:
    return context.settings is not None and context.settings.certification_gate


CONTROLS: tuple[Control, ...] = (
    Control(
        id="certification.from_live_data", section="H1",
        statement="The CIP certification to Commerce is generated from the live records (cloudcip certification "
                  "render, as JSON, HTML or PDF): the verification procedures of the CIP policy in force, the "
                  "screening lists, special measures, access signals and IP intelligence in use, the reseller "
                  "oversight procedures, the CIP contact, the number and locations of customers and of foreign "
                  "beneficial owners, the foreign resellers, and the number of foreign customers' accounts whose "
                  "identity is not verified; each figure carries the query that produced it. A filed certification "
                  "is kept with its SHA-256 and the filing is on the ledger.",
        performed_by=("cloudcip.reports.certification.CertificationService.render",
                      "cloudcip.reports.certification.CertificationService.file",
                      "cloudcip.reports.certification.render_html",
                      "cloudcip.reports.certification_pdf.render_pdf"),
    ),
    Control(
        id="certification.gate", section="H1", requirements=("H1", "A4"),
        statement="While no certification is filed, no foreign customer is granted access: a case whose evidence "
                  "is complete waits in pending_evidence, with no deadline running against it, and is approved "
                  "as soon as a certification is filed.",
        performed_by=("cloudcip.reports.certification.certification_gate",
                      "cloudcip.verification.applications.ApplicationService.gated",
                      "cloudcip.verification.certification_gate.release"),
        switch="CLOUDCIP_CERTIFICATION_GATE (on unless set to off)",
        enabled=_gate_on,
    ),
    Control(
        id="cip.copies_on_request", section="H3",
        statement="Each request for copies of this written CIP is logged with the day it was received and is due "
                  "{profile.cip_copies.days} days later (regulatory profile {profile.id}); open requests are "
                  "reminded every day until answered (cloudcip reporting due, and the reporting.due webhook), "
                  "and the answer sends the written CIP of the policy in force, keeping the SHA-256 of each "
                  "document sent, on the ledger.",
        performed_by=("cloudcip.reports.cip_requests.CipCopyRequests.log",
                      "cloudcip.reports.cip_requests.CipCopyRequests.answer",
                      "cloudcip.reports.attestation.AttestationService.due",
                      "cloudcip.reports.attestation.AttestationService.send_reminders"),
    ),
)

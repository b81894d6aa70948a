"""Identity-verification vendor results (document + selfie) through an adapter (A5).

Two shapes are understood: cloudcip's own generic JSON, and Veriff's decision webhook (the
``verification`` object with ``status``/``code``, signed with ``X-HMAC-SIGNATURE``: hex HMAC-SHA256 of
the raw body under the shared secret). Each becomes a ``VendorResult`` — evidence like any other, with
the vendor's reference kept. The document number a vendor extracts is returned for sealing, never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cloudcip.errors import InvalidInput, Unauthenticated

Outcome = Literal["verified", "failed", "inconclusive"]


class VendorPayloadError(InvalidInput, ValueError):
    """The vendor payload is malformed (422)."""


class VendorSignatureError(Unauthenticated, VendorPayloadError):
    """The vendor payload's signature does not verify (401, without a bearer challenge)."""

    def headers(self) -> dict[str, str] | None:
        return None


@dataclass(frozen=True)
class VendorResult:
    vendor: str
    reference: str  # the vendor's session / check id
    outcome: Outcome
    reason: str | None
    document_type: str | None
    document_country: str | None
    document_number: str | None  # sealed by the caller
    document_expiry: str | None
    application_ref: str | None  # what the provider passed through (e.g. the cloudcip application id)
    given_name: str | None = None  # the person the vendor read off the document (compared, sealed)
    family_name: str | None = None
    birth_date: str | None = None


class GenericVendorResult(BaseModel):
    """cloudcip's generic shape for any vendor."""

    model_config = ConfigDict(extra="forbid")
    vendor: str = Field(min_length=1, max_length=64)
    reference: str = Field(min_length=1, max_length=128)
    outcome: Outcome
    reason: str | None = Field(default=None, max_length=500)
    document_type: str | None = Field(default=None, max_length=32)
    document_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    document_number: str | None = Field(default=None, max_length=64)
    document_expiry: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    application_ref: str | None = Field(default=None, max_length=64)
    given_name: str | None = Field(default=None, max_length=200)
    family_name: str | None = Field(default=None, max_length=200)
    birth_date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")


def from_generic(payload: dict[str, Any]) -> VendorResult:
    """A vendor's result in cloudcip's generic shape; :class:`VendorPayloadError` naming
    ``vendor_result`` for anything else."""
    try:
        parsed = GenericVendorResult.model_validate(payload)
    except ValueError:
        raise VendorPayloadError.field("vendor_result", "not the generic vendor result shape") from None
    return VendorResult(**parsed.model_dump())


_VERIFF_OUTCOMES: dict[str, Outcome] = {
    "approved": "verified",
    "declined": "failed",
    "resubmission_requested": "inconclusive",
    "review": "inconclusive",
    "expired": "failed",
    "abandoned": "failed",
}


def verify_veriff_signature(body: bytes, signature: str | None, shared_secret: str) -> None:
    expected = hmac.new(shared_secret.encode(), body, hashlib.sha256).hexdigest()
    if not signature or not hmac.compare_digest(expected, signature.strip().lower()):
        raise VendorSignatureError("X-HMAC-SIGNATURE does not verify")


def from_veriff(body: bytes, signature: str | None, shared_secret: str) -> VendorResult:
    """Parse a Veriff decision webhook after checking its signature."""
    verify_veriff_signature(body, signature, shared_secret)
    try:
        document = json.loads(body)
        verification = document["verification"]
        status = str(verification["status"])
        reference = str(verification["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise VendorPayloadError("not a Veriff decision webhook: verification.id and .status are required") from exc
    if status not in _VERIFF_OUTCOMES:
        raise VendorPayloadError("verification.status: unknown Veriff status")
    identity_document = verification.get("document") or {}
    person = verification.get("person") or {}
    if not isinstance(identity_document, dict) or not isinstance(person, dict):
        raise VendorPayloadError("verification.document and verification.person must be objects")
    return VendorResult(
        vendor="veriff",
        reference=reference[:128],
        outcome=_VERIFF_OUTCOMES[status],
        reason=(str(verification.get("reason"))[:500] if verification.get("reason") else None),
        document_type=identity_document.get("type"),
        document_country=identity_document.get("country"),
        document_number=identity_document.get("number"),
        document_expiry=identity_document.get("validUntil"),
        application_ref=(str(verification["vendorData"])[:64] if verification.get("vendorData") else None),
        given_name=_text(person.get("firstName")), family_name=_text(person.get("lastName")),
        birth_date=_text(person.get("dateOfBirth")),
    )


def _text(value: Any) -> str | None:
    return str(value)[:200] if isinstance(value, str) and value.strip() else None

"""An account-opening application as the signup service posts it (A1, A3, A8): the customer record
plus the account asked for, the opening channel, the signup IP and the notice the customer saw."""

from __future__ import annotations

from datetime import date
from ipaddress import ip_address
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from cloudcip.domain.customer import (
    CountryCode,
    CustomerRecord,
    EntityCustomer,
    Identifier,
    IndividualCustomer,
    ShortText,
)

AccountType = Literal["standard", "reseller", "trial"]
Channel = Literal["self_serve", "sales_assisted", "marketplace", "via_reseller"]
RiskTier = Literal["low", "standard", "high"]


class AccountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: AccountType
    channel: Channel
    risk_tier: RiskTier | None = None  # the provider's own assessment, when it has one
    external_ref: Annotated[str, StringConstraints(max_length=128)] | None = None


DocumentKind = Literal["passport", "passport_card", "id_card", "national_id", "residence_permit",
                       "permanent_resident_card", "registration", "driving_licence", "other"]
EvidenceMethod = Literal["passport", "national_id_card", "registration_document", "payment_check", "vendor_idv"]
Subject = Annotated[str, StringConstraints(pattern=r"^(customer|beneficial_owner:[0-9]{1,2})$")]


class DocumentClaimIn(BaseModel):
    """What an identity document checked by the provider or a vendor says (A4, A5): compared field by
    field with the application; an MRZ is parsed and its check digits verified."""

    model_config = ConfigDict(extra="forbid")
    kind: DocumentKind
    country: CountryCode
    number: Identifier | None = None
    expires_on: date | None = None
    given_name: ShortText | None = None
    family_name: ShortText | None = None
    birth_date: date | None = None
    mrz: Annotated[str, StringConstraints(min_length=30, max_length=200, pattern=r"^[A-Za-z0-9< \r\n]+$")] | None = None


class EvidenceItemIn(BaseModel):
    """Evidence the provider already holds when it posts the application (a vendor's check, a
    document it inspected, a payment check): taken like evidence posted later (A4, A5)."""

    model_config = ConfigDict(extra="forbid")
    method: EvidenceMethod
    outcome: Literal["verified", "failed", "inconclusive"]
    subject: Subject = "customer"
    reference: Annotated[str, StringConstraints(max_length=128)] | None = None
    document: DocumentClaimIn | None = None


class _ApplicationFields(BaseModel):
    account: AccountRequest
    signup_ip: str
    reseller_account_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")] | None = None
    notice_version: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    evidence: Annotated[list[EvidenceItemIn], Field(max_length=10)] = []
    #: G1: the provider's device id of the signup (browser or hardware fingerprint), optional; kept only as
    #: a blind index that links accounts opened from one device
    device_id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")] | None = None

    @field_validator("signup_ip")
    @classmethod
    def _is_ip(cls, value: str) -> str:
        try:
            return str(ip_address(value.strip()))
        except ValueError as exc:
            raise ValueError("not an IPv4 or IPv6 address") from exc


class IndividualApplication(IndividualCustomer, _ApplicationFields):
    pass


class EntityApplication(EntityCustomer, _ApplicationFields):
    pass


ApplicationRequest = Annotated[IndividualApplication | EntityApplication, Field(discriminator="kind")]

_APPLICATION_ONLY = {"account", "signup_ip", "reseller_account_id", "notice_version", "evidence", "device_id"}


def customer_record_of(application: IndividualApplication | EntityApplication) -> CustomerRecord:
    """The customer record inside an application."""
    values = {name: getattr(application, name) for name in type(application).model_fields
              if name not in _APPLICATION_ONLY}
    if isinstance(application, IndividualApplication):
        return IndividualCustomer.model_validate(values)
    return EntityCustomer.model_validate(values)

"""An account-opening application as the signup service posts it (A1, A3, A8): the customer record
plus the account asked for, the opening channel, the signup IP and the notice the customer saw."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from cloudcip.domain.customer import CustomerRecord, EntityCustomer, IndividualCustomer

AccountType = Literal["standard", "reseller", "trial"]
Channel = Literal["self_serve", "sales_assisted", "marketplace", "via_reseller"]
RiskTier = Literal["low", "standard", "high"]


class AccountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: AccountType
    channel: Channel
    risk_tier: RiskTier | None = None  # the provider's own assessment, when it has one
    external_ref: Annotated[str, StringConstraints(max_length=128)] | None = None


class _ApplicationFields(BaseModel):
    account: AccountRequest
    signup_ip: str
    reseller_account_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")] | None = None
    notice_version: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None

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

_APPLICATION_ONLY = {"account", "signup_ip", "reseller_account_id", "notice_version"}


def customer_record_of(application: IndividualApplication | EntityApplication) -> CustomerRecord:
    """The customer record inside an application."""
    values = {name: getattr(application, name) for name in type(application).model_fields
              if name not in _APPLICATION_ONLY}
    if isinstance(application, IndividualApplication):
        return IndividualCustomer.model_validate(values)
    return EntityCustomer.model_validate(values)

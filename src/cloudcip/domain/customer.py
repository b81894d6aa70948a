"""The customer record as the signup service submits it (A3): individual or entity, with beneficial
owners, national ID, address, contacts and means of payment.

These are the shapes of the data, checked for type, length and form; the identity package checks
what the values mean (checksums, plans, registries).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2000)


class PersonName(Strict):
    given: ShortText
    family: ShortText
    middle: ShortText | None = None


class Address(Strict):
    line1: ShortText
    line2: ShortText | None = None
    city: ShortText
    subdivision: Annotated[str, StringConstraints(max_length=8)] | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20, strip_whitespace=True)] | None = None
    country: CountryCode


class NationalId(Strict):
    country: CountryCode
    number: Identifier
    kind: Literal["national_id", "passport", "id_card", "residence_permit", "tax_id", "other"] = "national_id"
    expires_on: date | None = None


class Card(Strict):
    type: Literal["card"]
    number: Annotated[str, StringConstraints(pattern=r"^[0-9 \-]{12,23}$")]
    expiry: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    holder: ShortText | None = None
    institution: ShortText | None = None
    country: CountryCode | None = None
    source_of_funds: ShortText | None = None


class BankAccount(Strict):
    type: Literal["bank_account"]
    iban: Annotated[str, StringConstraints(min_length=8, max_length=42)] | None = None
    number: Identifier | None = None
    bic: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{8}([A-Za-z0-9]{3})?$")] | None = None
    institution: ShortText | None = None
    country: CountryCode | None = None
    source_of_funds: ShortText | None = None

    @model_validator(mode="after")
    def _needs_identifier(self) -> BankAccount:
        if not self.iban and not self.number:
            raise ValueError("a bank account needs an iban or a number")
        return self


class CryptoWallet(Strict):
    type: Literal["crypto_wallet"]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{2,10}$")]
    address: Annotated[str, StringConstraints(min_length=20, max_length=128, pattern=r"^[A-Za-z0-9:]+$")]
    institution: ShortText | None = None
    source_of_funds: ShortText | None = None


class OtherPayment(Strict):
    type: Literal["other"]
    description: ShortText
    reference: Identifier | None = None
    institution: ShortText | None = None
    country: CountryCode | None = None
    source_of_funds: ShortText | None = None


PaymentMeansInput = Annotated[Card | BankAccount | CryptoWallet | OtherPayment, Field(discriminator="type")]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
Phone = Annotated[str, StringConstraints(min_length=4, max_length=32, pattern=r"^\+?[0-9 ()\-.]+$")]


class BeneficialOwnerInput(Strict):
    name: PersonName
    birth_date: date | None = None
    nationality: CountryCode | None = None
    national_id: NationalId | None = None
    address: Address | None = None
    ownership_percent: Annotated[float, Field(ge=0, le=100)] | None = None
    control: bool = False


class SourceOfFunds(Strict):
    """Where the money that pays for the account comes from (A3), as the policy asks it."""

    kind: Literal["employment", "business_revenue", "savings", "investments", "inheritance_or_gift", "loan",
                  "parent_company", "grant", "other"]
    description: ShortText | None = None

    @model_validator(mode="after")
    def _described_when_other(self) -> SourceOfFunds:
        if self.kind == "other" and not self.description:
            raise ValueError("description: required when kind is other")
        return self


class PaymentSource(Strict):
    """Who pays for the account (A3: the source of payment for each account)."""

    payer: Literal["customer", "parent_company", "affiliate", "employer", "reseller", "third_party"]
    description: ShortText | None = None

    @model_validator(mode="after")
    def _described_when_third_party(self) -> PaymentSource:
        if self.payer == "third_party" and not self.description:
            raise ValueError("description: say who pays when a third party does")
        return self


class Registration(Strict):
    country: CountryCode
    number: Identifier
    subdivision: Annotated[str, StringConstraints(max_length=8)] | None = None
    kind: Literal["company_registration", "ein", "vat", "other"] = "company_registration"


class IndividualCustomer(Strict):
    kind: Literal["individual"]
    name: PersonName
    birth_date: date
    nationality: CountryCode | None = None
    national_id: NationalId | None = None
    documents: Annotated[list[NationalId], Field(max_length=10)] = []
    address: Address
    email: Email
    phone: Phone
    payment_means: Annotated[list[PaymentMeansInput], Field(max_length=20)] = []
    source_of_funds: SourceOfFunds | None = None
    payment_source: PaymentSource | None = None


class EntityCustomer(Strict):
    kind: Literal["entity"]
    legal_name: ShortText
    registration: Registration
    address: Address
    email: Email
    phone: Phone
    beneficial_owners: Annotated[list[BeneficialOwnerInput], Field(max_length=50)] = []
    payment_means: Annotated[list[PaymentMeansInput], Field(max_length=20)] = []
    source_of_funds: SourceOfFunds | None = None
    payment_source: PaymentSource | None = None


CustomerRecord = Annotated[IndividualCustomer | EntityCustomer, Field(discriminator="kind")]

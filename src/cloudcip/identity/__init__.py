"""Identity fields: validation and normalisation, and U.S./foreign determination (A2, A3, A4).

Each validator takes the dotted path of the field it checks and raises
:class:`IdentityFieldError` (a ``ValueError``) whose problems name that field and say what is
wrong, never echoing the value. Normalised forms returned here are the ones blind indexes use.
"""

from cloudcip.identity.address import (
    PostalAddress,
    age_on,
    country_name,
    normalize_country,
    normalize_postal_code,
    normalize_subdivision,
    parse_iso_date,
    validate_address,
    validate_birth_date,
)
from cloudcip.identity.contact import (
    EmailCheck,
    PhoneCheck,
    is_disposable_domain,
    load_disposable_domains,
    validate_email,
    validate_phone,
)
from cloudcip.identity.mrz import MachineReadableZone, check_digit, parse_mrz, state_alpha2
from cloudcip.identity.national_id import (
    NATIONAL_ID_SCHEMES,
    REGISTRATION_SCHEMES,
    NationalIdCheck,
    RegistrationCheck,
    national_id_schemes,
    validate_document_number,
    validate_ein,
    validate_national_id,
    validate_registration,
)
from cloudcip.identity.payment import (
    BicCheck,
    BinRange,
    BinTable,
    BinTableError,
    CardCheck,
    IbanCheck,
    card_brand,
    validate_bic,
    validate_card_expiry,
    validate_card_number,
    validate_iban,
    validate_wallet,
)
from cloudcip.identity.problems import FieldProblem, IdentityFieldError, ProblemCollector
from cloudcip.identity.us_person import (
    DEFAULT_LOCATION_POLICY,
    CitizenshipEvidence,
    LocationIndicator,
    LocationPolicy,
    PersonFacts,
    PersonStatus,
    determine_person_status,
    located_in_us,
)
from cloudcip.identity.wallet_formats import WalletCheck

__all__ = [
    "DEFAULT_LOCATION_POLICY",
    "NATIONAL_ID_SCHEMES",
    "REGISTRATION_SCHEMES",
    "BicCheck",
    "BinRange",
    "BinTable",
    "BinTableError",
    "CardCheck",
    "CitizenshipEvidence",
    "EmailCheck",
    "FieldProblem",
    "IbanCheck",
    "IdentityFieldError",
    "LocationIndicator",
    "LocationPolicy",
    "MachineReadableZone",
    "NationalIdCheck",
    "PersonFacts",
    "PersonStatus",
    "PhoneCheck",
    "PostalAddress",
    "ProblemCollector",
    "RegistrationCheck",
    "WalletCheck",
    "age_on",
    "card_brand",
    "check_digit",
    "country_name",
    "determine_person_status",
    "is_disposable_domain",
    "load_disposable_domains",
    "located_in_us",
    "national_id_schemes",
    "normalize_country",
    "normalize_postal_code",
    "normalize_subdivision",
    "parse_iso_date",
    "parse_mrz",
    "state_alpha2",
    "validate_address",
    "validate_bic",
    "validate_birth_date",
    "validate_card_expiry",
    "validate_card_number",
    "validate_document_number",
    "validate_ein",
    "validate_email",
    "validate_iban",
    "validate_national_id",
    "validate_phone",
    "validate_registration",
    "validate_wallet",
]

"""Realistic generated customers from many locales, for the demo, tests and benchmarks (A3).

Never real people: Faker's generators, seeded. National ID numbers come from Faker's per-locale
generators, which produce numbers with valid check digits where the country has them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from typing import Any

import phonenumbers
from faker import Faker
from pydantic import TypeAdapter

from cloudcip.domain.customer import CustomerRecord

# locale → (country, national-ID generator method or None for a passport number)
LOCALES: dict[str, tuple[str, str | None]] = {
    "de_DE": ("DE", None),
    "fr_FR": ("FR", "ssn"),
    "es_ES": ("ES", "nif"),
    "it_IT": ("IT", "ssn"),
    "nl_NL": ("NL", "ssn"),
    "pl_PL": ("PL", "pesel"),
    "sv_SE": ("SE", "ssn"),
    "fi_FI": ("FI", "ssn"),
    "no_NO": ("NO", "ssn"),
    "pt_BR": ("BR", "cpf"),
    "en_GB": ("GB", None),
    "en_IN": ("IN", None),
    "ja_JP": ("JP", None),
    "ko_KR": ("KR", None),
    "zh_CN": ("CN", None),
    "ru_RU": ("RU", None),
    "uk_UA": ("UA", None),
    "tr_TR": ("TR", None),
    "ar_AA": ("AE", None),
    "en_US": ("US", "ssn"),
}

_ADAPTER: TypeAdapter[CustomerRecord] = TypeAdapter(CustomerRecord)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


class SyntheticCustomers:
    """A seeded stream of generated individual and entity customers."""

    def __init__(self, seed: int = 13984, entity_share: float = 0.15) -> None:
        self.random = random.Random(seed)
        self.entity_share = entity_share
        self.fakers: dict[str, Faker] = {}
        for index, locale in enumerate(LOCALES):
            faker = Faker(locale)
            faker.seed_instance(seed + index)
            self.fakers[locale] = faker
        self.latin = Faker("en_US")
        self.latin.seed_instance(seed)

    def _person(self, locale: str) -> dict[str, Any]:
        faker = self.fakers[locale]
        country, method = LOCALES[locale]
        birth = faker.date_of_birth(minimum_age=18, maximum_age=85)
        national_id: dict[str, Any]
        if method is not None:
            number = str(getattr(faker, method)())
            national_id = {"country": country, "number": number.replace(" ", "")[:64], "kind": "national_id"}
        else:
            passport = self.latin.bothify("??#######").upper()
            national_id = {"country": country, "number": passport, "kind": "passport",
                           "expires_on": date(2031, self.random.randint(1, 12), 1).isoformat()}
        return {
            "name": {"given": faker.first_name()[:200], "family": faker.last_name()[:200]},
            "birth_date": birth.isoformat(),
            "nationality": country,
            "national_id": national_id,
            "address": self._address(locale),
        }

    def _address(self, locale: str) -> dict[str, Any]:
        faker = self.fakers[locale]
        country, _ = LOCALES[locale]
        return {
            "line1": faker.street_address().replace("\n", ", ")[:200],
            "city": faker.city()[:200],
            "postal_code": faker.postcode()[:20],
            "country": country,
        }

    def _payment(self, locale: str) -> dict[str, Any]:
        country, _ = LOCALES[locale]
        choice = self.random.random()
        if choice < 0.7:
            return {"type": "card", "number": self.latin.credit_card_number(),
                    "expiry": f"{self.random.randint(2027, 2032)}-{self.random.randint(1, 12):02d}",
                    "country": country}
        if choice < 0.9:
            return {"type": "bank_account", "iban": self.latin.iban(), "country": country,
                    "source_of_funds": "salary"}
        return {"type": "crypto_wallet", "currency": "ETH",
                "address": "0x" + "".join(self.random.choice("0123456789abcdef") for _ in range(40))}

    def _phone(self, country: str) -> str:
        """A mobile number valid in the country's numbering plan (its example number, varied)."""
        example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
        if example is None:
            example = phonenumbers.example_number(country)
        if example is None:
            return "+12025550123"
        national = str(example.national_number)
        for _ in range(20):
            tail = "".join(self.random.choice("0123456789") for _ in range(min(4, len(national) - 2)))
            candidate = phonenumbers.PhoneNumber(country_code=example.country_code,
                                                 national_number=int(national[: len(national) - len(tail)] + tail))
            if phonenumbers.is_valid_number(candidate):
                return phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
        return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)

    def _contacts(self, locale: str) -> tuple[str, str]:
        email = f"{self.latin.user_name()}{self.random.randint(1, 99999)}@{self.latin.free_email_domain()}"
        return email, self._phone(LOCALES[locale][0])

    def _registration(self, country: str) -> dict[str, Any]:
        if country == "US":
            prefix = self.random.choice(["20", "26", "27", "45", "46", "47", "81", "82", "83", "84", "85", "86"])
            return {"country": "US", "number": f"{prefix}-{self.random.randint(0, 9_999_999):07d}", "kind": "ein"}
        return {"country": country, "number": self.latin.bothify("HRB ######")}

    def record_json(self) -> dict[str, Any]:
        locale = self.random.choice(list(LOCALES))
        email, phone = self._contacts(locale)
        payments = [self._payment(locale) for _ in range(self.random.randint(1, 2))]
        if self.random.random() < self.entity_share:
            faker = self.fakers[locale]
            country, _ = LOCALES[locale]
            owners = []
            for _ in range(self.random.randint(1, 3)):
                owner_locale = self.random.choice(list(LOCALES))
                owner = self._person(owner_locale)
                owner["ownership_percent"] = float(self.random.choice([25, 30, 40, 50, 60]))
                owners.append(owner)
            return {
                "kind": "entity",
                "legal_name": faker.company()[:200],
                "registration": self._registration(country),
                "address": self._address(locale),
                "email": email,
                "phone": phone,
                "beneficial_owners": owners,
                "payment_means": payments,
            }
        person = self._person(locale)
        return {"kind": "individual", **person, "email": email, "phone": phone, "payment_means": payments}

    def application_json(self) -> dict[str, Any]:
        """A generated account opening: a record plus account, channel, signup IP and notice version."""
        body = self.record_json()
        account_type, channel = self.random.choice(
            [("standard", "self_serve"), ("standard", "sales_assisted"), ("trial", "self_serve"),
             ("standard", "marketplace")])
        octets = [self.random.randint(1, 223), self.random.randint(0, 255), self.random.randint(0, 255),
                  self.random.randint(1, 254)]
        body.update({"account": {"type": account_type, "channel": channel},
                     "signup_ip": ".".join(str(o) for o in octets), "notice_version": "notice-2024-01"})
        return body

    def records(self, count: int) -> Iterator[CustomerRecord]:
        for _ in range(count):
            yield _ADAPTER.validate_python(self.record_json())


def parse_customer(document: dict[str, Any]) -> CustomerRecord:
    return _ADAPTER.validate_python(document)

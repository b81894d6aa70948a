"""The risk tier of an account opening, computed by cloudcip from the signals it has (G2, A1, A6).

The tier picks the CIP policy's rule (``match.risk_tier``) and, at ``high``, the ``risk_tier_high``
review trigger. cloudcip computes it here, in one place, from named factors; the provider's own
assessment (``account.risk_tier`` in the request) may **raise** the tier, never lower it. The answer
lists every factor that fired with the tier it asks for, so an examiner sees why.

==============================  =========  ==================================================
factor                          tier       fires when
==============================  =========  ==================================================
``disposable_email``            high       the email's domain is a known disposable-mail domain
``screening_match``             high       a designated-person match to review or block
``measure_adjacent_location``   high       evidence touches a special-measure jurisdiction the
                                           person is not located in (D2)
``mismatched_countries``        high       three or more countries among address, documents,
                                           phone, card issuer and IBAN
``mismatched_countries``        standard   two such countries (listed, does not raise)
``payment_crypto_wallet``       high       a crypto wallet among the means of payment
``payment_other``               standard   a means of payment other than card, bank or wallet
``no_payment_means``            standard   no means of payment given
``signup_ip_tor``               high       the signup address is a Tor exit
``signup_ip_hosting``           high       the signup address is in a hosting or VPN range
``reseller_self_serve``         high       a Reseller Account opened self-serve
``trial_with_crypto``           high       a trial paid with a crypto wallet
``provider_raised``             (theirs)   the provider asked for a higher tier
==============================  =========  ==================================================

A later numeric score (G2, linkage) adds factors here; the tier stays the maximum of the factors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TIERS: tuple[str, ...] = ("low", "standard", "high")
TIER_RANK: dict[str, int] = {tier: rank for rank, tier in enumerate(TIERS)}
BASELINE = "standard"


@dataclass(frozen=True)
class RiskSignals:
    """What cloudcip knows at signup that bears on risk; country codes and flags only."""

    account_type: str
    channel: str
    customer_kind: str
    email_flags: Sequence[str] = ()
    screening_band: str = "clear"
    measure_adjacent: Sequence[str] = ()  # measure jurisdictions touched but not located
    countries: Mapping[str, Sequence[str]] = field(default_factory=dict)  # evidence -> countries
    payment_types: Sequence[str] = ()
    signup_ip_tor: bool = False
    signup_ip_hosting: bool = False


@dataclass(frozen=True)
class RiskFactor:
    """One factor that fired: its name, the tier it asks for and why (no personal data)."""

    name: str
    tier: str
    why: str

    @property
    def reason(self) -> str:
        return f"risk:{self.name}:{self.tier}: {self.why}"

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "tier": self.tier, "why": self.why}


@dataclass(frozen=True)
class RiskAssessment:
    """The tier in force (the higher of cloudcip's and the provider's), cloudcip's own, the
    provider's request, and the factors."""

    tier: str
    computed: str
    requested: str | None
    factors: tuple[RiskFactor, ...]

    @property
    def reasons(self) -> list[str]:
        return [factor.reason for factor in self.factors]

    def as_json(self) -> dict[str, Any]:
        return {"tier": self.tier, "computed": self.computed, "requested": self.requested,
                "factors": [factor.as_json() for factor in self.factors]}


def _disposable_email(s: RiskSignals) -> list[RiskFactor]:
    if "disposable_domain" in s.email_flags:
        return [RiskFactor("disposable_email", "high", "the email domain is a disposable-mail domain")]
    return []


def _screening_match(s: RiskSignals) -> list[RiskFactor]:
    if s.screening_band in ("review", "block"):
        return [RiskFactor("screening_match", "high", f"a designated-person match ({s.screening_band})")]
    return []


def _measure_adjacent(s: RiskSignals) -> list[RiskFactor]:
    if s.measure_adjacent:
        return [RiskFactor("measure_adjacent_location", "high", "evidence touches special-measure "
                           f"jurisdiction(s) {', '.join(sorted(set(s.measure_adjacent)))}")]
    return []


def _mismatched_countries(s: RiskSignals) -> list[RiskFactor]:
    distinct = sorted({code for codes in s.countries.values() for code in codes if code})
    if len(distinct) >= 3:
        return [RiskFactor("mismatched_countries", "high", f"{len(distinct)} countries among "
                           f"{', '.join(sorted(k for k, v in s.countries.items() if v))}: {', '.join(distinct)}")]
    if len(distinct) == 2:
        return [RiskFactor("mismatched_countries", "standard", f"2 countries: {', '.join(distinct)}")]
    return []


def _payment(s: RiskSignals) -> list[RiskFactor]:
    found = []
    if "crypto_wallet" in s.payment_types:
        found.append(RiskFactor("payment_crypto_wallet", "high", "a crypto wallet pays"))
    if "other" in s.payment_types:
        found.append(RiskFactor("payment_other", "standard", "a means of payment other than card, bank or wallet"))
    if not s.payment_types:
        found.append(RiskFactor("no_payment_means", "standard", "no means of payment given"))
    return found


def _signup_ip(s: RiskSignals) -> list[RiskFactor]:
    found = []
    if s.signup_ip_tor:
        found.append(RiskFactor("signup_ip_tor", "high", "the signup address is a Tor exit"))
    if s.signup_ip_hosting:
        found.append(RiskFactor("signup_ip_hosting", "high", "the signup address is in a hosting or VPN range"))
    return found


def _account_type(s: RiskSignals) -> list[RiskFactor]:
    found = []
    if s.account_type == "reseller" and s.channel == "self_serve":
        found.append(RiskFactor("reseller_self_serve", "high", "a Reseller Account opened self-serve"))
    if s.account_type == "trial" and "crypto_wallet" in s.payment_types:
        found.append(RiskFactor("trial_with_crypto", "high", "a trial paid with a crypto wallet"))
    return found


#: every factor, in the order the answer lists them
FACTORS: tuple[Callable[[RiskSignals], list[RiskFactor]], ...] = (
    _disposable_email, _screening_match, _measure_adjacent, _mismatched_countries, _payment, _signup_ip,
    _account_type,
)


def assess_risk(signals: RiskSignals, requested: str | None = None) -> RiskAssessment:
    """The tier from the factors; the provider's ``requested`` tier only raises it (G2)."""
    factors: list[RiskFactor] = []
    for rule in FACTORS:
        factors.extend(rule(signals))
    computed = max((f.tier for f in factors), key=TIER_RANK.__getitem__, default=BASELINE)
    if TIER_RANK[computed] < TIER_RANK[BASELINE]:
        computed = BASELINE
    tier = computed
    if requested is not None and TIER_RANK[requested] > TIER_RANK[computed]:
        tier = requested
        factors.append(RiskFactor("provider_raised", requested, "the provider's own assessment is higher"))
    return RiskAssessment(tier, computed, requested, tuple(factors))

"""The risk score's weights and bands as the CIP policy states them (G2, A1).

The policy's ``risk_score`` section names, for each factor of an account's score (``linkage.risk``),
its **weight**: the points it adds at full value, 0 to 100; a factor the policy leaves out keeps its
default weight. ``bands`` map the score (0 to 100) to a tier, each band naming the highest score it
covers (``up_to``), in rising order, the last one at 100. A bad key is named in the policy's error
(``risk_score.weights.cluster_sise: unknown factor``), like every other policy problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: each factor and its default weight (points at full value); ``linkage.risk`` reads the values
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "ban_evasion_link": 40, "weak_link_to_flagged": 10, "cluster_size": 10, "access_signals": 15,
    "shared_indicator": 25, "screening_hit": 30, "incident_report": 40, "evidence_failed": 15,
}
RISK_FACTORS: tuple[str, ...] = tuple(DEFAULT_WEIGHTS)
Weight = Annotated[float, Field(ge=0, le=100)]


class RiskBand(BaseModel):
    """Scores up to ``up_to`` (inclusive) have ``tier``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    up_to: Annotated[int, Field(ge=0, le=100)]
    tier: Literal["low", "standard", "high"]


DEFAULT_BANDS: tuple[RiskBand, ...] = (RiskBand(up_to=29, tier="low"), RiskBand(up_to=59, tier="standard"),
                                       RiskBand(up_to=100, tier="high"))


class RiskScorePolicy(BaseModel):
    """The ``risk_score`` section of a CIP policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    weights: dict[str, Weight] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    bands: Annotated[tuple[RiskBand, ...], Field(min_length=1)] = DEFAULT_BANDS

    @field_validator("weights", mode="before")
    @classmethod
    def _known_factors(cls, value: object) -> object:
        if not isinstance(value, Mapping):
            return value
        unknown = [str(name) for name in value if name not in DEFAULT_WEIGHTS]
        if unknown:
            raise ValueError("\n".join(f"@{name}: unknown factor (one of {', '.join(RISK_FACTORS)})"
                                       for name in unknown))
        return {**DEFAULT_WEIGHTS, **value}

    @model_validator(mode="after")
    def _bands_rise_to_100(self) -> RiskScorePolicy:
        problems = []
        for index, (lower, upper) in enumerate(zip(self.bands, self.bands[1:], strict=False), start=1):
            if upper.up_to <= lower.up_to:
                problems.append(f"@bands.{index}.up_to: bands rise: {upper.up_to} is not above {lower.up_to}")
        if self.bands[-1].up_to != 100:
            problems.append(f"@bands.{len(self.bands) - 1}.up_to: the last band covers scores up to 100")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def band_pairs(self) -> tuple[tuple[int, str], ...]:
        """``((29, "low"), (59, "standard"), (100, "high"))``: what ``linkage.risk`` takes."""
        return tuple((band.up_to, band.tier) for band in self.bands)

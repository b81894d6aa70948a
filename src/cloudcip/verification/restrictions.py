"""Restrictions on a pending, failed-and-restricted or measure-conditioned account (A6, D1): a flag
(``no_gpu``) or a limit with a value (``max_instances: 2``), read from the policy's YAML form, and
merged so that each is named once and the stricter of two limits wins. ``verification.policy``
re-exports them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_serializer

from cloudcip.verification.policy_terms import RESTRICTION_FLAGS, RESTRICTION_LIMITS


class Restriction(BaseModel):
    """What a pending (or failed-and-restricted) account may not do: a flag, or a limit with a value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    value: int | float | None = None

    @property
    def label(self) -> str:
        """``no_gpu`` or ``max_instances=2``."""
        if self.value is None:
            return self.name
        number = int(self.value) if float(self.value).is_integer() else self.value
        return f"{self.name}={number}"

    @model_serializer(mode="plain")
    def as_yaml(self) -> str | dict[str, int | float]:
        """The YAML form: ``no_gpu`` or ``{max_instances: 2}`` (also what ``model_dump`` gives)."""
        return self.name if self.value is None else {self.name: self.value}


def restriction_from(value: Any) -> Restriction:
    """A restriction from its YAML form: ``no_gpu`` or ``{max_instances: 2}``."""
    if isinstance(value, Restriction):
        return value
    if isinstance(value, str):
        if value in RESTRICTION_FLAGS:
            return Restriction(name=value)
        if value in RESTRICTION_LIMITS:
            raise ValueError(f"{value!r} needs a limit, e.g. {{{value}: 2}}")
        raise ValueError(f"unknown restriction {value!r} (expected one of: "
                         f"{', '.join(RESTRICTION_FLAGS + RESTRICTION_LIMITS)})")
    if isinstance(value, dict) and len(value) == 1:
        ((name, limit),) = value.items()
        if name in RESTRICTION_FLAGS:
            if limit is True:
                return Restriction(name=name)
            raise ValueError(f"{name!r} is on or off; write it as a plain name")
        if name not in RESTRICTION_LIMITS:
            raise ValueError(f"unknown restriction {name!r} (expected one of: "
                             f"{', '.join(RESTRICTION_FLAGS + RESTRICTION_LIMITS)})")
        if isinstance(limit, bool) or not isinstance(limit, int | float) or limit < 0:
            raise ValueError(f"@{name}: a limit must be a number >= 0, not {limit!r}")
        return Restriction(name=name, value=limit)
    raise ValueError("a restriction is a name (no_gpu) or a one-key mapping ({max_instances: 2})")


RestrictionItem = Annotated[Restriction, BeforeValidator(restriction_from)]


def merge_restrictions(*groups: Iterable[Restriction]) -> list[Restriction]:
    """All restrictions of ``groups``, each named once; of two limits with one name the stricter wins."""
    merged: dict[str, Restriction] = {}
    for restriction in itertools.chain.from_iterable(groups):
        held = merged.get(restriction.name)
        if held is None or (
            held.value is not None and restriction.value is not None and restriction.value < held.value
        ):
            merged[restriction.name] = restriction
    return list(merged.values())

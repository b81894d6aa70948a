"""Traffic Light Protocol 2.0 markings for STIX 2.1, and TLP 1.0 read on the way in (G3).

The ``stix2`` library predefines only the TLP 1.0 markings. TLP 2.0 is published by OASIS as the
extension definition ``extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d`` with five
marking definitions of fixed ids (created ``2022-10-01T00:00:00.000Z``); this module holds exactly
those, as ``stix2.MarkingDefinition`` objects, and maps both ways: level → marking (to mark what
goes out) and marking references → level (to read what comes in). A TLP 1.0 reference is taken too:
WHITE reads as CLEAR, GREEN, AMBER and RED as themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import stix2

from cloudcip.errors import InvalidInput

TLP_EXTENSION_DEFINITION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_CREATED = "2022-10-01T00:00:00.000Z"

TlpLevel = Literal["clear", "green", "amber", "amber+strict", "red"]
TLP_LEVELS: tuple[TlpLevel, ...] = ("clear", "green", "amber", "amber+strict", "red")  # least to most restricted

TLP2_IDS: dict[TlpLevel, str] = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP1_IDS: dict[str, TlpLevel] = {
    stix2.TLP_WHITE.id: "clear",
    stix2.TLP_GREEN.id: "green",
    stix2.TLP_AMBER.id: "amber",
    stix2.TLP_RED.id: "red",
}
LEVEL_OF_ID: dict[str, TlpLevel] = {**{mid: level for level, mid in TLP2_IDS.items()}, **TLP1_IDS}


def _definition(level: TlpLevel) -> stix2.MarkingDefinition:
    return stix2.MarkingDefinition(
        id=TLP2_IDS[level], created=TLP_CREATED, name=f"TLP:{level.upper()}",
        extensions={TLP_EXTENSION_DEFINITION: {"extension_type": "property-extension", "tlp_2_0": level}})


MARKINGS: dict[TlpLevel, stix2.MarkingDefinition] = {level: _definition(level) for level in TLP_LEVELS}


def parse_level(text: str, field: str = "tlp") -> TlpLevel:
    """``clear|green|amber|amber+strict|red`` (any case, an optional ``TLP:``); ``white`` is CLEAR."""
    value = text.strip().lower().removeprefix("tlp:").replace(" ", "")
    if value == "white":
        return "clear"
    for level in TLP_LEVELS:
        if value == level:
            return level
    raise InvalidInput.field(field, f"one of {', '.join(TLP_LEVELS)}")


def marking(level: TlpLevel) -> stix2.MarkingDefinition:
    """The OASIS TLP 2.0 marking definition of ``level``."""
    return MARKINGS[level]


def rank(level: TlpLevel) -> int:
    return TLP_LEVELS.index(level)


def strictest(levels: Iterable[TlpLevel]) -> TlpLevel | None:
    chosen: TlpLevel | None = None
    for level in levels:
        if chosen is None or rank(level) > rank(chosen):
            chosen = level
    return chosen


def level_of_refs(refs: Iterable[str]) -> TlpLevel | None:
    """The strictest TLP level among ``object_marking_refs`` (TLP 2.0 or 1.0), or ``None`` if unmarked."""
    return strictest(LEVEL_OF_ID[ref] for ref in refs if ref in LEVEL_OF_ID)


def level_of_definition(definition: dict[str, object]) -> TlpLevel | None:
    """The level a marking-definition object states: by its id, its TLP 2.0 extension, or a TLP 1.0
    ``definition_type: tlp``; ``None`` when it is not a TLP marking."""
    found = LEVEL_OF_ID.get(str(definition.get("id", "")))
    if found is not None:
        return found
    extensions = definition.get("extensions")
    if isinstance(extensions, dict):
        extension = extensions.get(TLP_EXTENSION_DEFINITION)
        if isinstance(extension, dict) and isinstance(extension.get("tlp_2_0"), str):
            return parse_level(str(extension["tlp_2_0"]), "tlp_2_0")
    inner = definition.get("definition")
    if definition.get("definition_type") == "tlp" and isinstance(inner, dict) and isinstance(inner.get("tlp"), str):
        return parse_level(str(inner["tlp"]), "definition.tlp")
    return None

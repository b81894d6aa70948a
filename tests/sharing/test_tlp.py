"""G3: the TLP 2.0 marking helper, both ways (level → OASIS marking definition → level), and TLP 1.0
markings read on the way in (WHITE as CLEAR)."""

from __future__ import annotations

import json

import pytest
import stix2
from tests.sharing.validation import assert_valid_bundle

from cloudcip.errors import InvalidInput
from cloudcip.sharing.tlp import (
    TLP2_IDS,
    TLP_EXTENSION_DEFINITION,
    TLP_LEVELS,
    level_of_definition,
    level_of_refs,
    marking,
    parse_level,
)

# the OASIS TLP 2.0 marking definitions (cti-stix-common-objects, extension-definition-specifications/tlp-2.0)
OASIS = [
    ("clear", "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR"),
    ("green", "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN"),
    ("amber", "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER"),
    ("amber+strict", "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "TLP:AMBER+STRICT"),
    ("red", "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED"),
]


@pytest.mark.parametrize(("level", "oasis_id", "name"), OASIS)
def test_tlp2_both_ways(level: str, oasis_id: str, name: str) -> None:
    definition = json.loads(marking(level).serialize())  # type: ignore[arg-type]
    assert definition == {"type": "marking-definition", "spec_version": "2.1", "id": oasis_id,
                          "created": "2022-10-01T00:00:00.000Z", "name": name,
                          "extensions": {TLP_EXTENSION_DEFINITION: {"extension_type": "property-extension",
                                                                    "tlp_2_0": level}}}
    assert level_of_definition(definition) == level
    assert level_of_refs([oasis_id]) == level
    assert parse_level(name) == level
    # a definition read by its extension alone (another id) still says its level
    other_id = "marking-definition--00000000-0000-4000-8000-000000000000"
    assert level_of_definition({**definition, "id": other_id}) == level
    assert_valid_bundle({"type": "bundle", "id": "bundle--6b1a9a1e-1f6e-4d8e-9a53-1c2f3e4d5a6b",
                         "objects": [definition]})


@pytest.mark.parametrize(("tlp1", "level"), [(stix2.TLP_WHITE, "clear"), (stix2.TLP_GREEN, "green"),
                                             (stix2.TLP_AMBER, "amber"), (stix2.TLP_RED, "red")])
def test_tlp1_is_read_as_tlp2(tlp1: stix2.MarkingDefinition, level: str) -> None:
    assert level_of_refs([tlp1.id]) == level
    assert level_of_definition(json.loads(tlp1.serialize())) == level


def test_strictest_marking_wins_and_unknown_is_refused() -> None:
    assert level_of_refs([TLP2_IDS["green"], TLP2_IDS["amber+strict"], stix2.TLP_WHITE.id]) == "amber+strict"
    assert level_of_refs(["marking-definition--00000000-0000-4000-8000-000000000000"]) is None
    assert parse_level("white") == "clear" and parse_level("AMBER+STRICT") == "amber+strict"
    with pytest.raises(InvalidInput):
        parse_level("purple")
    assert list(TLP_LEVELS) == [o[0] for o in OASIS]

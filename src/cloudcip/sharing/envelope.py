"""Objects coming in (a POSTed TAXII envelope, a pulled page): validated as STIX 2.1, TLP read (G3).

Each object is parsed by ``stix2``, an indicator's STIX pattern by ``stix2-patterns`` (once: the same
parse gives the observables it compares); one that does not parse is a failure naming its id and the
reason, never its content. The TLP level of each object is
the strictest of its markings: TLP 2.0 (by id or by the OASIS extension of a marking definition in the
same envelope) or TLP 1.0 (WHITE read as CLEAR).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import stix2

from cloudcip.errors import InvalidInput
from cloudcip.sharing.patterns import InvalidPattern, inspect_pattern, terms_of
from cloudcip.sharing.tlp import LEVEL_OF_ID, TlpLevel, level_of_definition, strictest

MAX_OBJECTS = 10_000


@dataclass
class CheckedObjects:
    valid: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    tlp_of: dict[str, TlpLevel | None] = field(default_factory=dict)
    terms: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # an indicator's observables


def read_envelope(body: bytes) -> list[Any]:
    """The ``objects`` of a TAXII envelope (or a STIX bundle); a malformed one is refused whole."""
    try:
        document = json.loads(body)
    except ValueError:
        raise InvalidInput.field("body", "not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("objects"), list):
        raise InvalidInput.field("objects", "an envelope needs a list of objects")
    objects: list[Any] = document["objects"]
    if len(objects) > MAX_OBJECTS:
        raise InvalidInput.field("objects", f"at most {MAX_OBJECTS} objects in one envelope")
    return objects


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "pattern" in text.lower():
        return "pattern: not a valid STIX pattern"
    return f"not valid STIX 2.1 ({type(exc).__name__})"


def check_objects(objects: Sequence[Any]) -> CheckedObjects:
    checked = CheckedObjects()
    markings: dict[str, TlpLevel] = {}
    for item in objects:
        if isinstance(item, dict) and item.get("type") == "marking-definition":
            level = None
            try:
                level = level_of_definition(item)
            except InvalidInput:
                level = None
            if level is not None:
                markings[str(item.get("id"))] = level

    for position, item in enumerate(objects):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("type"), str):
            checked.failures.append({"id": f"objects[{position}]", "message": "an object needs a type and an id"})
            continue
        object_id = item["id"][:128]
        if item.get("spec_version", "2.1") != "2.1" and item["type"] != "bundle":
            checked.failures.append({"id": object_id, "message": "spec_version: only STIX 2.1 is taken"})
            continue
        structure = item
        if item["type"] == "indicator" and item.get("pattern_type") == "stix":
            # the pattern is parsed once, here (stix2 would parse it again to validate it)
            try:
                checked.terms[object_id] = terms_of(inspect_pattern(str(item.get("pattern", ""))))
            except InvalidPattern as exc:
                checked.failures.append({"id": object_id, "message": str(exc)})
                continue
            structure = {**item, "pattern_type": "x-cloudcip-pattern-checked"}
        try:
            stix2.parse(structure, allow_custom=True, version="2.1")
        except Exception as exc:
            checked.terms.pop(object_id, None)
            checked.failures.append({"id": object_id, "message": _reason(exc)})
            continue
        refs = [str(ref) for ref in item.get("object_marking_refs", []) or []]
        checked.tlp_of[object_id] = strictest(level for ref in refs
                                              if (level := markings.get(ref) or LEVEL_OF_ID.get(ref)) is not None)
        if item["type"] == "marking-definition" and object_id in markings:
            checked.tlp_of[object_id] = "clear"
        checked.valid.append(item)
    return checked

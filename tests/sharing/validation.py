"""The OASIS STIX validator, strict, as every test of a shared bundle uses it (G3)."""

from __future__ import annotations

import json
from typing import Any

from stix2validator import ValidationOptions, validate_string

STRICT = ValidationOptions(version="2.1", strict=True, enforce_refs=True, silent=True)


def assert_valid_bundle(bundle: dict[str, Any] | str) -> None:
    text = bundle if isinstance(bundle, str) else json.dumps(bundle)
    results = validate_string(text, STRICT)
    objects = getattr(results, "object_results", None) or [results]
    problems = [f"{obj.object_id}: {e}" for obj in objects for e in (obj.errors or [])]
    problems += [f"{obj.object_id}: warning {w}" for obj in objects for w in (obj.warnings or [])]
    assert results.is_valid and not problems, problems

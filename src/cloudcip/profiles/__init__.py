"""Regulatory profiles, the default CIP policy and the customer notices, shipped as package data
(A1, A4, A5, A6, A7, A8, B1).

- ``eo13984-nprm-2024.yaml``: the default regulatory profile (the proposed rule's numbers: retention
  two years after closure or last access, whichever is later (B1); special-measure lead time and
  duration; reseller termination; CIP copies; verification deadline bounds (A6) and the longest
  re-verification interval (A7)). Loaded by :func:`cloudcip.verification.profile.load_profile`.
- ``default-policy.yaml``: a sensible default CIP policy (A1, A4, A5, A6, A7), loaded by
  :func:`cloudcip.verification.policy.default_policy`.
- ``notices/<version>.md``: the versioned customer notices (A8); each application records the version
  the customer saw.

This module only reads package data; it imports nothing else of cloudcip.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from importlib.resources.abc import Traversable

DEFAULT_PROFILE_NAME = "eo13984-nprm-2024"
DEFAULT_POLICY_FILE = "default-policy.yaml"
_NOTICE_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


def _package() -> Traversable:
    return resources.files(__name__)


def profile_names() -> list[str]:
    """The names of the regulatory profiles shipped with cloudcip."""
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in _package().iterdir()
        if entry.name.endswith(".yaml") and entry.name != DEFAULT_POLICY_FILE
    )


def profile_text(name: str) -> str:
    """The YAML text of the shipped profile ``name``; ``KeyError`` when there is none."""
    if name not in profile_names():
        raise KeyError(f"no shipped regulatory profile named {name!r}")
    return _package().joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def default_policy_text() -> str:
    """The YAML text of the default CIP policy."""
    return _package().joinpath(DEFAULT_POLICY_FILE).read_text(encoding="utf-8")


def notice_versions() -> list[str]:
    """The customer-notice versions shipped with cloudcip, oldest first (A8)."""
    return list(_shipped_notice_versions())


@functools.cache
def _shipped_notice_versions() -> tuple[str, ...]:
    """Read once per process: the package's files do not change while it runs (every signup asks)."""
    notices = _package().joinpath("notices")
    return tuple(sorted(entry.name.removesuffix(".md") for entry in notices.iterdir() if entry.name.endswith(".md")))


def notice_text(version: str) -> str:
    """The text of customer-notice ``version`` (A8); ``KeyError`` when it is not shipped."""
    if not _NOTICE_VERSION.match(version) or version not in notice_versions():
        raise KeyError(f"no customer notice with version {version!r}")
    return _package().joinpath("notices", f"{version}.md").read_text(encoding="utf-8")

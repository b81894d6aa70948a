"""The customer notice (A8): which versions exist, their text, and the check every application passes.

A8 says the customer is told, before the account opens, that identifying information is collected,
verified and may be disclosed as the law requires, and that the notice shown is recorded with its
version. The versions are the notices shipped as package data (``profiles/notices/<version>.md``).
When the policy in force requires a notice (``notice_required``, the default), an application that
names no notice, or one cloudcip does not know, is refused before anything is stored (422 naming
``notice_version``); a known older version is accepted and the answer says it differs from the
policy's.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudcip import profiles
from cloudcip.errors import InvalidInput, NotFound
from cloudcip.verification.policy import CipPolicy


class NoticeNotFound(NotFound):
    """No customer notice with that version."""


@dataclass(frozen=True)
class Notice:
    version: str
    text: str
    current: bool  # the version the policy in force shows

    def as_json(self) -> dict[str, object]:
        return {"version": self.version, "current": self.current, "text": self.text}


def versions() -> list[str]:
    """The notice versions cloudcip knows, oldest first."""
    return profiles.notice_versions()


def notice(policy: CipPolicy, version: str | None = None) -> Notice:
    """The notice ``version`` (default: the policy's); :class:`NoticeNotFound` when it is unknown."""
    wanted = version or policy.notice_version
    try:
        text = profiles.notice_text(wanted)
    except KeyError:
        raise NoticeNotFound("no customer notice with that version") from None
    return Notice(wanted, text, wanted == policy.notice_version)


def check_notice(policy: CipPolicy, version: str | None) -> None:
    """A8: refuse an application without a known notice when the policy requires one."""
    if not policy.notice_required:
        return
    if version is None:
        raise InvalidInput.field("notice_version", "required: the policy requires the notice the customer saw "
                                                   "before opening")
    if version not in versions():
        raise InvalidInput.field("notice_version", "not a notice version cloudcip knows")

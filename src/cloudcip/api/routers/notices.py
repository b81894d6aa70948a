"""The customer notice (A8): its versions and text, for the signup flow to show before opening.

- ``GET /v1/notices``: the versions cloudcip knows and the one the policy in force shows.
- ``GET /v1/notices/{version}``: one notice's text (404 for a version cloudcip does not know).

An application naming no notice, or an unknown one, is refused (422 naming ``notice_version``) when
the policy requires a notice (``verification.notices``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, StringConstraints

from cloudcip.api.auth import require
from cloudcip.records.roles import Actor
from cloudcip.verification import notices
from cloudcip.verification.applications import ApplicationService

router = APIRouter(prefix="/v1/notices", tags=["notices"])
Reader = Annotated[Actor, Depends(require("application:submit", "application:read"))]
NoticeVersion = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]


class NoticeOut(BaseModel):
    version: str
    current: bool
    text: str


class NoticeVersionsOut(BaseModel):
    current: str
    required: bool
    versions: list[str]


def _applications(request: Request) -> ApplicationService:
    service: ApplicationService = request.app.state.applications
    return service


@router.get("", response_model=NoticeVersionsOut)
def list_notices(request: Request, _actor: Reader) -> NoticeVersionsOut:
    policy = _applications(request).follow_policy()
    return NoticeVersionsOut(current=policy.notice_version, required=policy.notice_required,
                             versions=notices.versions())


@router.get("/{version}", response_model=NoticeOut, responses={404: {"description": "no notice with that version"}})
def show_notice(version: NoticeVersion, request: Request, _actor: Reader) -> NoticeOut:
    found = notices.notice(_applications(request).follow_policy(), version)
    return NoticeOut(version=found.version, current=found.current, text=found.text)

"""The error bodies the API sends, as typed models for the OpenAPI document (B4).

Every error cloudcip raises on purpose is answered by ``api.errors`` as ``{"error", "detail"}``
(plus ``fields`` naming each bad field of a 422); routers declare the statuses they really send with
``responses=errors(404, 409, ...)``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str
    detail: str | list[str]
    fields: list[FieldProblem] | None = None


_DESCRIPTIONS = {
    401: "no API key, or one unknown or revoked",
    403: "the role, purpose or legal basis does not allow this",
    404: "no such thing",
    409: "not in a state that allows this",
    410: "destroyed (purged)",
    422: "invalid input, naming each field at fault (never its value)",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: the error statuses it sends, each with the error body's model."""
    return {status: {"model": ErrorBody, "description": _DESCRIPTIONS.get(status, "error")}
            for status in (401, *statuses)}

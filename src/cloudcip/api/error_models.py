"""The error bodies the API sends, as typed models for the OpenAPI document (B4).

Every error cloudcip answers is ``{"error", "detail"}`` (plus ``fields`` naming each bad field of a
422): ``api.errors`` builds them all, from :class:`cloudcip.errors.CloudcipError`, from a request
that does not validate, from a body too large. Routers declare the statuses their services really
send with ``responses=errors(404, 409, ...)``; :func:`declare_common_errors` adds to every route those
its framework sends (401 and 403 where a key is required, 422 where anything is read from the
request, 413 where a body is), so ``/openapi.json`` lists every status a client can get.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    """One field at fault: its dotted path (``payment_means.0.number``) and what is wrong, never its value."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: str = Field(description="the kind of error", examples=["invalid request", "not found", "forbidden"])
    detail: str | list[str] = Field(description="what is wrong, without personal data; a 422 lists each field",
                                    examples=[["email: is not a valid email address"]])
    fields: list[FieldProblem] | None = Field(default=None, description="a 422's fields at fault")


_DESCRIPTIONS = {
    400: "the body cannot be read as text (e.g. not UTF-8)",
    401: "no API key, or one unknown, expired or revoked",
    403: "the role, purpose or legal basis does not allow this",
    404: "no such thing",
    409: "not in a state that allows this",
    410: "destroyed (purged)",
    413: "the body is larger than the service takes",
    422: "invalid input, naming each field at fault (never its value)",
    503: "a service cloudcip depends on does not answer",
}


def error_response(status: int, description: str | None = None) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description or _DESCRIPTIONS.get(status, "error")}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: the error statuses it sends, each with the error body's model."""
    return {status: error_response(status) for status in (401, *statuses)}


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependencies(sub)


def _reads_the_request(dependant: Dependant) -> bool:
    return any(d.path_params or d.query_params or d.header_params or d.cookie_params or d.body_params
               for d in _dependencies(dependant))


def declare_common_errors(router: APIRouter, authenticate: Callable[..., Any]) -> None:
    """Add to each route of ``router`` the error statuses the framework answers for it (before the
    router is included): 401 and 403 where ``authenticate`` is among its dependencies (the role check
    and the purpose or legal basis it asks), 422 where it reads a parameter, a header or a body,
    413 where it takes a body. A status the route declares itself is kept as declared."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        statuses: list[int] = []
        if any(d.call is authenticate for d in _dependencies(route.dependant)):
            statuses += [401, 403, 422]  # the key; the role; a purpose or legal basis header not printable
        if _reads_the_request(route.dependant):
            statuses.append(422)
        if any(d.path_params for d in _dependencies(route.dependant)):
            statuses.append(404)  # the thing the path names does not exist
        if (route.methods or set()) & {"POST", "PUT", "PATCH"}:
            statuses += [400, 413]  # a body that is not text (400) or too large (413)
        for status in statuses:
            route.responses.setdefault(status, error_response(status))
        for code, response in route.responses.items():
            if int(code) >= 400 and "model" not in response and "content" not in response:
                response["model"] = ErrorBody  # declared with a description only: the body is still ErrorBody
        if not _answers_json(route):
            # errors are JSON even where the route answers a file or text: say so, not the route's media type
            for code, response in list(route.responses.items()):
                if response.get("model") is ErrorBody:
                    route.responses[code] = {
                        "description": response.get("description", "error"),
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}


def _answers_json(route: APIRoute) -> bool:
    if isinstance(route.response_class, DefaultPlaceholder):
        return True
    return getattr(route.response_class, "media_type", None) == "application/json"

"""Clean client errors: 422 naming each bad field (never echoing its value), 413, never a 500 for
anything a client sends (B2: no personal data in errors).

One handler maps every :class:`cloudcip.errors.CloudcipError` (its kind's status and public detail);
routers and services raise those and never catch them to build an ``HTTPException`` themselves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudcip.errors import CloudcipError


def field_path(location: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "payment_means", 0, "card", "number")`` → ``payment_means.0.number``."""
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    # drop the discriminator tags pydantic inserts for tagged unions
    tags = {"card", "bank_account", "crypto_wallet", "other", "individual", "entity"}
    cleaned = [p for p in parts if p not in tags]
    return ".".join(cleaned) or "body"


def problems_from_validation(exc: RequestValidationError) -> list[dict[str, str]]:
    problems = []
    for error in exc.errors():
        path = field_path(error.get("loc", ()))
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            path, message = "body", "malformed JSON"
        elif error.get("type") == "extra_forbidden":
            message = "unknown field"
        elif error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
            tag = str((error.get("ctx") or {}).get("discriminator", "type")).strip("'")
            path = f"{path}.{tag}" if path != "body" else tag
            message = f"must be one of {(error.get('ctx') or {}).get('expected_tags', 'the known kinds')}"
        problems.append({"field": path, "message": message})
    return problems


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = problems_from_validation(exc)
        return JSONResponse(status_code=422, content={
            "error": "invalid request",
            "detail": [f"{p['field']}: {p['message']}" for p in problems],
            "fields": problems,
        })

    @app.exception_handler(CloudcipError)
    async def _cloudcip(_request: Request, exc: CloudcipError) -> JSONResponse:
        """Every error cloudcip raises on purpose: its kind's status, its body (public detail,
        fields at fault), its headers. The one mapping; routers do not catch these."""
        return JSONResponse(status_code=exc.status, content=exc.body(), headers=exc.headers())

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"error": _reason(exc.status_code),
                                                                  "detail": exc.detail},
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=500, content={"error": "internal error",
                                                          "detail": "an operator must look at the logs"})


def _reason(status: int) -> str:
    return {400: "bad request", 401: "unauthorized", 403: "forbidden", 404: "not found", 405: "method not allowed",
            409: "conflict", 413: "payload too large", 415: "unsupported media type",
            422: "invalid request"}.get(status, "error")


class BodySizeLimit:
    """Refuse request bodies larger than ``limit`` bytes with 413, before they are read whole.

    ``path_limits`` gives some paths (a regular expression each) a limit of their own: the uploads
    of documents (a reseller's CIP, E1) are larger than any JSON request."""

    def __init__(self, app: ASGIApp, limit: int, path_limits: Sequence[tuple[str, int]] = ()) -> None:
        self.app = app
        self.limit = limit
        self.path_limits = [(re.compile(pattern), size) for pattern, size in path_limits]

    def limit_for(self, path: str) -> int:
        return next((size for pattern, size in self.path_limits if pattern.match(path)), self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = limit + 1
                if declared > limit:
                    await _too_large(send)
                    return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    response = JSONResponse(status_code=413, content={"error": "payload too large",
                                                      "detail": "the body is larger than the service takes"})
    await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


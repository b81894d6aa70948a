"""Refuse the NUL character in anything a client sends, naming where it is (B2: never a 500).

PostgreSQL cannot store a NUL (U+0000) in a text column, SQLite stores it silently: the same request
would be refused with a 500 on one engine and kept on the other. A NUL is never part of a name, an
address, an identifier or a reason, so every request carrying one is refused up front with the 422
every other bad field gets, naming the field (never echoing its value), and nothing is stored:

* the path and the query string (``%00``);
* a JSON body (``\\u0000`` in a string or a key: the only way JSON carries a NUL);
* a form body (``%00``, the console's forms).

Multipart uploads (documents) are bytes and are left alone. The TAXII server answers with a TAXII error
object, the rest of the API with its usual error body. The common request pays one ``bytes.find``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudcip.errors import InvalidInput

_MESSAGE = "must not contain a NUL character"
_TAXII_PREFIX = "/taxii2"


def nul_in_json(body: bytes) -> str | None:
    """The field (``payment_means.0.number``) of the first key or string holding a NUL, or None."""
    if b"\\u0000" not in body:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None  # malformed JSON: the route's own validation names it
    return _walk(document, [])


def _walk(node: Any, path: list[str]) -> str | None:
    if isinstance(node, str):
        return ".".join(path) or "body" if "\x00" in node else None
    if isinstance(node, dict):
        for key, value in node.items():
            if "\x00" in key:
                return ".".join(path) or "body"
            found = _walk(value, [*path, key])
            if found:
                return found
    if isinstance(node, list):
        for position, value in enumerate(node):
            found = _walk(value, [*path, str(position)])
            if found:
                return found
    return None


def refuse_nul(body: bytes) -> None:
    """Raise the 422 naming the field when a JSON document holds a NUL (the CLI's files)."""
    field = nul_in_json(body)
    if field is not None:
        raise InvalidInput.field(field, _MESSAGE)


def nul_in_form(encoded: bytes) -> str | None:
    """The name of the first form or query field holding a NUL (``%00``), or None."""
    if b"%00" not in encoded and b"\x00" not in encoded:
        return None
    for name, value in parse_qsl(encoded.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "body"
    return None  # "%00" only as part of other text (e.g. "%2500", a literal "%00"): no NUL


class RefuseNul:
    """Pure ASGI middleware: reads a JSON or form body whole (the size limit applies first), checks it,
    and hands the same bytes on to the application."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if "\x00" in path or b"%00" in scope.get("raw_path", b""):
            await _refuse(scope, send, "path")
            return
        query: bytes = scope.get("query_string", b"")
        field = nul_in_form(query) if query else None
        if field is not None:
            await _refuse(scope, send, field)
            return
        kind = _content_type(scope)
        if "json" not in kind and kind != "application/x-www-form-urlencoded":
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = bytearray()
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        field = nul_in_json(bytes(body)) if "json" in kind else nul_in_form(bytes(body))
        if field is not None:
            await _refuse(scope, send, field)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return str(value.decode("latin-1").split(";", 1)[0].strip().lower())
    return ""


async def _refuse(scope: Scope, send: Send, field: str) -> None:
    field = unquote(field)
    if scope.get("path", "").startswith(_TAXII_PREFIX):
        content: dict[str, Any] = {"title": "invalid request", "description": f"{field}: {_MESSAGE}",
                                   "http_status": "422"}
        media = b"application/taxii+json;version=2.1"
    else:
        content = InvalidInput.field(field, _MESSAGE).body()
        media = b"application/json"
    payload = json.dumps(content).encode()
    await send({"type": "http.response.start", "status": 422,
                "headers": [(b"content-type", media), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})

"""The route of ``POST /v1/applications``, the one request every signup makes (B4).

FastAPI handles a request by solving its endpoint's dependencies one by one (the services, the bearer
credentials, the actor of the key, the permission, the service, the header, the body): ~0.2 ms of a
worker's CPU per signup (of ~0.6 ms for the whole of the HTTP layer before). ``submit_route`` gives the
signup's route a handler that does the same steps directly, calling the very dependencies the endpoint
declares (its OpenAPI, its checks and its answers stay the endpoint's):

1. the body is read and parsed as FastAPI parses it (``json.loads``) when it is sent as
   ``application/json``, the ``Idempotency-Key`` is checked as the endpoint declares it (at most 128
   characters) and the body is validated by the endpoint's request model, as FastAPI validates it;
2. the key is authenticated and the permission checked by the endpoint's own dependencies (their
   refusals, 401 and 403, raised as they are under FastAPI, which solves the dependencies before it
   reports a bad parameter);
3. the endpoint's ``decide`` answers.

A request that fails any check of step 1 (malformed JSON, another content type, a header too long, a
field at fault) is handed whole to FastAPI's own handler of the endpoint, which answers it exactly as
it always has (its 422 naming the field, its refusals first when the key is missing or refused):
step 1 changes nothing, so nothing is done twice that was not pure.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from cloudcip.api.auth import BEARER, current_actor, services_of
from cloudcip.records.roles import Actor

#: the ``Idempotency-Key`` header and its bound, as the endpoint declares it (``Header(max_length=128)``)
IDEMPOTENCY_HEADER = "idempotency-key"
IDEMPOTENCY_KEY_MAX = 128

Permission = Callable[[Request, Actor], Awaitable[Actor]]
ServiceOf = Callable[[Request], Awaitable[Any]]
Decide = Callable[[Any, Any, Actor, "str | None"], Response]
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def submit_route(request_type: Any, permission: Permission, service: ServiceOf, decide: Decide) -> type[APIRoute]:
    """The route class of a submitting endpoint: bodies of ``request_type``, the actor let through by
    ``permission`` (a ``require(...)`` dependency), the service ``service`` gives, answered by
    ``decide(service, body, actor, idempotency_key)`` (what the endpoint itself returns)."""
    adapter: TypeAdapter[Any] = TypeAdapter(request_type)

    async def directly(request: Request) -> Response | None:
        """The answer, or None when FastAPI's handler must answer (the request fails a check of step 1)."""
        headers = request.headers
        content_type = headers.get("content-type")
        if content_type is None or content_type.strip().lower() != "application/json":
            return None
        idempotency_key = headers.get(IDEMPOTENCY_HEADER)
        if idempotency_key is not None and len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
            return None
        try:
            body = adapter.validate_python(json.loads(await request.body()), from_attributes=True)
        except Exception:  # malformed JSON, a field at fault, an unreadable body: FastAPI says which
            return None
        actor = await permission(request, await current_actor(await services_of(request), await BEARER(request)))
        return decide(await service(request), body, actor, idempotency_key)

    class SubmitRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            solved = super().get_route_handler()

            async def handle(request: Request) -> Response:
                response = await directly(request)
                return response if response is not None else await solved(request)

            return handle

    return SubmitRoute

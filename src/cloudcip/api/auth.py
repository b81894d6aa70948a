"""API keys in ``Authorization: Bearer KEY``, each with a role; one dependency per permission (B4).

Every request reads its key's row (``api.key_check``: one primary-key read of what can change of it,
``records.api_keys.authenticate`` for a key the process has not seen), so a revoked or expired key is
refused at once by every worker and node. ``require(...)`` lets a request through
when the key's role holds one of the permissions **and** has stated what ``records.roles.GRANTS``
asks of that role (``X-Access-Purpose``; for legal staff also ``X-Legal-Basis``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from cloudcip import clock
from cloudcip.api.key_check import KeyCheck
from cloudcip.errors import InvalidInput, Unauthenticated
from cloudcip.records import api_keys
from cloudcip.records.roles import (
    LEGAL_BASIS_HEADER,
    PURPOSE_HEADER,
    AccessRefused,
    Actor,
    Permission,
    check,
    may,
)
from cloudcip.services import Services


async def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(services_of)]

# key id -> when this process last wrote its last-used time (monotonic seconds)
_last_touched: dict[str, float] = {}
# the keys this process has authenticated (their role and expiry; revocation is read on every request)
_keys = KeyCheck()


def _touch(services: Services, key_id: str) -> None:
    with services.database.write_gate(), services.database.engine.begin() as conn:
        api_keys.touch(conn, key_id, clock.now())


#: the scheme ``/openapi.json`` declares on every route taking a key, so ``/docs`` offers to send one;
#: refusing a request without one stays :func:`current_actor`'s (401 as ``ErrorBody``, not FastAPI's 403)
BEARER = HTTPBearer(scheme_name="bearer", bearerFormat="API key", auto_error=False,
                    description="an API key (`cloudcip apikeys create --role ROLE`): `Authorization: Bearer KEY`")


async def current_actor(services: ServicesDep,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]) -> Actor:
    """The actor of the request's API key. Async, with a short blocking lookup, so that a request
    does not hop to the thread pool just to be authenticated."""
    presented = credentials.credentials.strip() if credentials is not None else ""
    if not presented:
        raise Unauthenticated("an API key is required: Authorization: Bearer KEY")
    actor = _keys.actor_on(services.database.engine, presented, clock.now())
    if actor is None:
        raise Unauthenticated("the API key is unknown, expired or revoked")
    key_id = actor.name.removeprefix("apikey:")
    moment = time.monotonic()
    if moment - _last_touched.get(key_id, float("-inf")) >= api_keys.LAST_USED_EVERY.total_seconds():
        _last_touched[key_id] = moment
        if len(_last_touched) > 10_000:
            _last_touched.clear()
        await run_in_threadpool(_touch, services, key_id)
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def _header_text(request: Request, header: str) -> str | None:
    value = request.headers.get(header)
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > 200 or not value.isprintable():
        raise InvalidInput.field(header, "at most 200 printable characters")
    return value


def stated_purpose(request: Request) -> str | None:
    """The ``X-Access-Purpose`` header: short printable text, recorded on the ledger."""
    return _header_text(request, PURPOSE_HEADER)


def stated_legal_basis(request: Request) -> str | None:
    """The ``X-Legal-Basis`` header (a recorded legal process or request), recorded on the ledger."""
    return _header_text(request, LEGAL_BASIS_HEADER)


def require(*permissions: Permission) -> Callable[[Request, Actor], Awaitable[Actor]]:
    """A dependency that lets the request through when the actor's role holds any of ``permissions``
    and has stated the purpose (and legal basis) its role must state for the first one it holds."""

    async def check_request(request: Request, actor: ActorDep) -> Actor:
        held = next((permission for permission in permissions if may(actor.role, permission)), None)
        if held is None:
            raise AccessRefused(f"role {actor.role} may not do this")
        check(actor, held, purpose=stated_purpose(request), legal_basis=stated_legal_basis(request))
        return actor

    return check_request

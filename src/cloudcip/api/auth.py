"""API keys in ``Authorization: Bearer KEY``, each with a role; one dependency per permission (B4)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from cloudcip.records.roles import Actor, Permission, authenticate, may
from cloudcip.runtime import Services


async def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(services_of)]


KEY_CACHE_SECONDS = 10.0
_key_cache: dict[str, tuple[Actor, float]] = {}


async def current_actor(request: Request, services: ServicesDep) -> Actor:
    """The actor of the request's API key; a known key is remembered for ``KEY_CACHE_SECONDS``, so a
    revocation takes effect within that time. Async (with a short blocking lookup on a cache miss) so
    that a request does not hop to the thread pool just to be authenticated."""
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise HTTPException(401, "an API key is required: Authorization: Bearer KEY",
                            headers={"WWW-Authenticate": "Bearer"})
    fingerprint = hashlib.sha256(presented.encode()).hexdigest()
    cached = _key_cache.get(fingerprint)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    with services.database.engine.connect() as conn:
        actor = authenticate(conn, presented)
    if actor is not None:
        if len(_key_cache) > 10_000:
            _key_cache.clear()
        _key_cache[fingerprint] = (actor, time.monotonic() + KEY_CACHE_SECONDS)
    if actor is None:
        raise HTTPException(401, "the API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"})
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def require(*permissions: Permission) -> Callable[[Actor], Awaitable[Actor]]:
    """A dependency that lets the request through when the actor's role has any of ``permissions``."""

    async def check(actor: ActorDep) -> Actor:
        if not any(may(actor.role, permission) for permission in permissions):
            raise HTTPException(403, f"role {actor.role} may not do this")
        return actor

    return check


def stated_purpose(request: Request) -> str | None:
    """The ``X-Access-Purpose`` header: short printable text, recorded on the ledger."""
    purpose = request.headers.get("x-access-purpose")
    if purpose is None:
        return None
    purpose = purpose.strip()
    if not purpose:
        return None
    if len(purpose) > 200 or not purpose.isprintable():
        raise HTTPException(422, "X-Access-Purpose: at most 200 printable characters")
    return purpose

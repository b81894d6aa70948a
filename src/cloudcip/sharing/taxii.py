"""The TAXII 2.1 server, mounted at ``/taxii2/`` by the API (G3).

Resources: discovery ``/taxii2/``, the API root ``/taxii2/api1/``, its collections, a collection's
objects (GET with ``added_after``, ``limit``, ``next`` and ``match[id|type|version|spec_version]``;
POST of an envelope), one object and its versions, the manifest, and the status of each POST.

What other servers get wrong, done here:

- the filters of the first page travel in the ``next`` token; a request that changes them while
  paging is refused (400) instead of silently mixing result sets;
- timestamps are RFC 3339 with microseconds; ``added_after`` is taken with or without fractional
  seconds;
- ``X-TAXII-Date-Added-First`` and ``-Last`` are on every objects and manifest page; an empty page
  repeats the ``added_after`` it was asked with (or the epoch), so a client's next poll is unchanged;
- 406 for an ``Accept`` without ``application/taxii+json`` (version 2.1), 415 for a POST whose
  ``Content-Type`` is not that media type, 413 over ``max_content_length``;
- errors are TAXII error objects (``title``, ``description``, ``http_status``), never personal data.

Keys: ``Authorization: Bearer KEY`` or HTTP Basic with the key as the password (what TAXII clients
send). A key of role ``peer`` reaches only the collections its grants name (``store``).
"""

# no ``from __future__ import annotations``: the routes' dependencies are closures of create_taxii_app,
# which FastAPI must see as objects, not as names to resolve in this module

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloudcip import clock
from cloudcip.errors import CloudcipError, Forbidden, InvalidInput, NotFound, Unauthenticated
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.api_keys import authenticate
from cloudcip.records.roles import Actor, may
from cloudcip.sharing.envelope import check_objects, read_envelope
from cloudcip.sharing.ingest import IndicatorIntake
from cloudcip.sharing.store import EPOCH_US, Filters, SharingStore, format_us, parse_timestamp, timestamp_us
from cloudcip.storage.database import Database

MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
API_ROOT = "api1"
MAX_LIMIT = 1000


class TaxiiResponse(JSONResponse):
    media_type = MEDIA_TYPE


class NotAcceptable(CloudcipError):
    status = 406
    title = "not acceptable"


class UnsupportedMediaType(CloudcipError):
    status = 415
    title = "unsupported media type"


class TooLarge(CloudcipError):
    status = 413
    title = "content too large"


def _is_taxii(media_range: str) -> bool:
    parts = [part.strip().lower() for part in media_range.split(";")]
    if parts[0] != "application/taxii+json":
        return False
    versions = [p.split("=", 1)[1].strip() for p in parts[1:] if p.startswith("version=")]
    return not versions or versions == ["2.1"]


def accepts_taxii(request: Request) -> None:
    accept = request.headers.get("accept", "")
    if not any(_is_taxii(item) for item in accept.split(",")):
        raise NotAcceptable(f"Accept must include {MEDIA_TYPE}")


def objects_response(head: dict[str, Any], objects: list[str], headers: dict[str, str]) -> Response:
    """An envelope whose ``objects`` are the stored JSON texts, joined as they are (``head``: ``more``
    and ``next``); no ``objects`` member when there are none, as TAXII 2.1 has it."""
    text = json.dumps(head)
    if objects:
        text = f'{text[:-1]}, "objects": [{", ".join(objects)}]}}'
    return Response(text.encode(), media_type=MEDIA_TYPE, headers=headers)


def _error(status: int, title: str, description: str, headers: dict[str, str] | None = None) -> TaxiiResponse:
    return TaxiiResponse({"title": title, "description": description, "http_status": str(status)},
                         status_code=status, headers=headers)


def create_taxii_app(database: Database, ledger: Ledger, *, max_content_length: int,
                     intake: IndicatorIntake | None = None, title: str = "cloudcip TAXII 2.1") -> FastAPI:
    """The TAXII sub-application; ``intake`` (when given) stores and matches the indicators peers POST."""
    store = SharingStore(database)
    app = FastAPI(title=title, openapi_url=None, docs_url=None, redoc_url=None,
                  dependencies=[Depends(accepts_taxii)], default_response_class=TaxiiResponse)

    @app.exception_handler(CloudcipError)
    async def _cloudcip(_request: Request, exc: CloudcipError) -> TaxiiResponse:
        if isinstance(exc, InvalidInput):  # TAXII answers a request it cannot take with 400
            return _error(400, "bad request", exc.public_detail)
        return _error(exc.status, exc.title, exc.public_detail, exc.headers())

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> TaxiiResponse:
        fields = sorted({".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path"))
                         for e in exc.errors()})
        return _error(400, "bad request", f"invalid parameter: {', '.join(fields)}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> TaxiiResponse:
        return _error(exc.status_code, "error", str(exc.detail))

    def actor_of(request: Request) -> Actor:
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        presented = ""
        if scheme.lower() == "bearer":
            presented = credential.strip()
        elif scheme.lower() == "basic":
            try:
                presented = base64.b64decode(credential.strip()).decode().partition(":")[2]
            except (binascii.Error, UnicodeDecodeError):
                presented = ""
        if not presented:
            raise Unauthenticated("an API key is required (Bearer, or Basic with the key as password)")
        with database.engine.connect() as conn:
            actor = authenticate(conn, presented, clock.now())
        if actor is None:
            raise Unauthenticated("the API key is unknown, expired or revoked")
        if not may(actor.role, "taxii:read") and not may(actor.role, "taxii:write"):
            raise Forbidden(f"role {actor.role} has no access to the TAXII server")
        return actor

    ActorDep = Annotated[Actor, Depends(actor_of)]

    def root_url(request: Request) -> str:
        return f"{str(request.base_url).rstrip('/')}{request.scope.get('root_path', '')}/{API_ROOT}/"

    @app.get("/")
    def discovery(request: Request, actor: ActorDep) -> dict[str, Any]:
        api_root = root_url(request)
        return {"title": title, "description": "Indicators shared under TLP 2.0 (cloudcip)",
                "default": api_root, "api_roots": [api_root]}

    @app.get(f"/{API_ROOT}/")
    def api_root(actor: ActorDep) -> dict[str, Any]:
        return {"title": "cloudcip shared indicators", "versions": [MEDIA_TYPE],
                "max_content_length": max_content_length}

    def collection_view(row: Any, can_read: bool, can_write: bool) -> dict[str, Any]:
        view = {"id": row.id, "title": row.title, "can_read": can_read, "can_write": can_write,
                "media_types": [STIX_MEDIA_TYPE]}
        if row.description:
            view["description"] = row.description
        return view

    @app.get(f"/{API_ROOT}/collections/")
    def collections(actor: ActorDep) -> dict[str, Any]:
        with database.engine.connect() as conn:
            listed = store.collections(conn, actor)
        return {"collections": [collection_view(*item) for item in listed]} if listed else {}

    @app.get(f"/{API_ROOT}/collections/{{collection_id}}/")
    def collection(collection_id: str, actor: ActorDep) -> dict[str, Any]:
        with database.engine.connect() as conn:
            row = store.collection_row(conn, collection_id)
            can_read, can_write = store.rights(conn, actor, collection_id)
        if not (can_read or can_write):
            raise Forbidden("this key may not see this collection")
        return collection_view(row, can_read, can_write)

    def filters_of(request: Request, added_after: str | None) -> Filters:
        params = request.query_params

        def listed(name: str) -> tuple[str, ...]:
            values = [v.strip() for raw in params.getlist(f"match[{name}]") for v in raw.split(",") if v.strip()]
            return tuple(values)

        after = timestamp_us(parse_timestamp(added_after, "added_after")) if added_after else None
        return Filters(after, listed("id"), listed("type"), listed("version") or ("last",), listed("spec_version"))

    def page_headers(page_first: int | None, page_last: int | None, filters: Filters) -> dict[str, str]:
        empty = filters.added_after_us if filters.added_after_us is not None else EPOCH_US
        return {"X-TAXII-Date-Added-First": format_us(page_first if page_first is not None else empty),
                "X-TAXII-Date-Added-Last": format_us(page_last if page_last is not None else empty)}

    Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]

    @app.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/", response_class=TaxiiResponse)
    def get_objects(collection_id: str, request: Request, actor: ActorDep, added_after: str | None = None,
                    limit: Limit = 100, next: str | None = None) -> Response:
        with database.engine.connect() as conn:
            store.require(conn, actor, collection_id)
            page, used = store.page(conn, actor, collection_id, filters_of(request, added_after), limit, next)
        objects = [item for row in page.rows if (item := store.served(actor, row)) is not None]
        head: dict[str, Any] = {"more": page.more}
        if page.next:
            head["next"] = page.next
        return objects_response(head, objects, page_headers(page.first_added_us, page.last_added_us, used))

    @app.get(f"/{API_ROOT}/collections/{{collection_id}}/manifest/")
    def manifest(collection_id: str, request: Request, actor: ActorDep, added_after: str | None = None,
                 limit: Limit = 100, next: str | None = None) -> TaxiiResponse:
        with database.engine.connect() as conn:
            store.require(conn, actor, collection_id)
            page, used = store.page(conn, actor, collection_id, filters_of(request, added_after), limit, next)
        records = [{"id": row.object_id, "date_added": format_us(int(row.date_added_us)), "version": row.version,
                    "media_type": STIX_MEDIA_TYPE} for row in page.rows]
        body: dict[str, Any] = {"more": page.more}
        if page.next:
            body["next"] = page.next
        if records:
            body["objects"] = records
        return TaxiiResponse(body, headers=page_headers(page.first_added_us, page.last_added_us, used))

    @app.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/", response_class=TaxiiResponse)
    def get_object(collection_id: str, object_id: str, request: Request, actor: ActorDep,
                   added_after: str | None = None, limit: Limit = 100, next: str | None = None) -> Response:
        base = filters_of(request, added_after)
        filters = Filters(base.added_after_us, (object_id,), (), base.versions, base.spec_versions)
        with database.engine.connect() as conn:
            store.require(conn, actor, collection_id)
            page, used = store.page(conn, actor, collection_id, filters, limit, next)
        objects = [item for row in page.rows if (item := store.served(actor, row)) is not None]
        if not objects and not next:
            raise NotFound("no such object in this collection")
        head: dict[str, Any] = {"more": page.more}
        if page.next:
            head["next"] = page.next
        return objects_response(head, objects, page_headers(page.first_added_us, page.last_added_us, used))

    @app.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/versions/")
    def versions(collection_id: str, object_id: str, request: Request, actor: ActorDep,
                 added_after: str | None = None, limit: Limit = 100, next: str | None = None) -> TaxiiResponse:
        base = filters_of(request, added_after)
        filters = Filters(base.added_after_us, (object_id,), (), ("all",), base.spec_versions)
        with database.engine.connect() as conn:
            store.require(conn, actor, collection_id)
            page, used = store.page(conn, actor, collection_id, filters, limit, next)
        if not page.rows and not next:
            raise NotFound("no such object in this collection")
        body: dict[str, Any] = {"more": page.more, "versions": [row.version for row in page.rows]}
        if page.next:
            body["next"] = page.next
        return TaxiiResponse(body, headers=page_headers(page.first_added_us, page.last_added_us, used))

    @app.post(f"/{API_ROOT}/collections/{{collection_id}}/objects/", status_code=202)
    async def add_objects(collection_id: str, request: Request, actor: ActorDep) -> TaxiiResponse:
        if not _is_taxii(request.headers.get("content-type", "")):
            raise UnsupportedMediaType(f"Content-Type must be {MEDIA_TYPE}")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_content_length:
            raise TooLarge(f"over max_content_length ({max_content_length} bytes)")
        body = await request.body()
        if len(body) > max_content_length:
            raise TooLarge(f"over max_content_length ({max_content_length} bytes)")
        if not may(actor.role, "taxii:write"):
            raise Forbidden(f"role {actor.role} may not add objects")
        objects = read_envelope(body)
        checked = check_objects(objects)
        requested = format_us(timestamp_us(clock.now()))
        with ledger.unit_of_work() as work:
            store.require(work.conn, actor, collection_id, write=True)
            source = store.peer_name(work.conn, actor) or "local"
            outcomes = store.add_objects(work.conn, collection_id, checked.valid, source=source,
                                         tlp_of=checked.tlp_of)
            successes = [{"id": o["id"], "version": o["version"]} for o in outcomes]
            failures = [{"id": f["id"], "message": f["message"]} for f in checked.failures]
            status_id = store.add_status(work.conn, collection_id, actor, requested,
                                         {"successes": successes, "failures": failures, "pendings": []})
            work.log(LedgerAction(actor.name, actor.role, "receive", "sharing_collection", collection_id,
                                  detail={"status": status_id, "stored": len(successes), "failed": len(failures)}))
        if intake is not None and source != "local":
            intake.take(checked.valid, checked.tlp_of, source, actor, checked.terms)
        return TaxiiResponse(_status_body(store, database, actor, status_id), status_code=202)

    @app.get(f"/{API_ROOT}/status/{{status_id}}/")
    def status(status_id: str, actor: ActorDep) -> TaxiiResponse:
        return TaxiiResponse(_status_body(store, database, actor, status_id))

    return app


def _status_body(store: SharingStore, database: Database, actor: Actor, status_id: str) -> dict[str, Any]:
    with database.engine.connect() as conn:
        return store.status(conn, actor, status_id)

"""The ledger for auditors and officers (B3): the newest signed tree head and the newest entries,
each with the in-browser "verify" of its inclusion proof (``static/verify.js``)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from cloudcip.console.users import Session
from cloudcip.console.web import ConsoleDep, ConsoleRoute, allowed, render
from cloudcip.ledger.schema import ledger_entry

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
LedgerReader = Annotated[Session, Depends(allowed("ledger:read"))]
SHOWN = 100


@router.get("/ledger", response_class=HTMLResponse)
def show_ledger(request: Request, console: ConsoleDep, session: LedgerReader) -> HTMLResponse:
    ledger = console.services.ledger
    with console.services.database.engine.connect() as conn:
        rows = conn.execute(select(ledger_entry.c.leaf_input).order_by(ledger_entry.c.idx.desc()).limit(SHOWN))
        entries = [json.loads(text) for text in rows.scalars()]
    return render(request, "ledger/ledger.html", {"head": ledger.latest_head(), "entries": entries,
                                                  "public_key": ledger.public_key_pem(), "json": json.dumps})

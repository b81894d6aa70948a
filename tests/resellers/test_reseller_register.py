"""E1: the reseller register through the API: a reseller is an existing customer, foreign unless
determined a U.S. person, with its contact, contract attestation, certification dates and its own
written CIP on file (versioned, SHA-256, sealed at rest); bad uploads are 422 naming ``file``."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.resellers.builders import auth, register, reseller_customer

from cloudcip import clock
from cloudcip.ledger.schema import ledger_entry
from cloudcip.records.roles import Actor
from cloudcip.resellers.register import FILE_TYPES, MAX_CIP_BYTES
from cloudcip.resellers.register_schema import reseller_cip_document
from cloudcip.runtime import Services, certification_service

TEXT_CIP = b"Nordlicht Cloud written CIP\n1. We verify every customer's identity before access.\n"
PDF_CIP = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
OFFICER = Actor("test:officer", "compliance-officer")
HTML_CIP = b"<!DOCTYPE html><html><body><h1>Customer Identification Program</h1></body></html>"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.mark.control("resellers.register")
@pytest.mark.requirement("E1")
def test_a_customer_is_registered_as_a_foreign_reseller_and_read_back(services: Services, client: TestClient,
                                                                       keys: dict[str, str]) -> None:
    customer_id, account_id = reseller_customer(services)
    with clock.frozen(date(2026, 12, 1)):
        added = register(client, keys, customer_id, contract_reference="MSA-2026-17", attestation=True)
    assert added["foreign"] is True and added["person_status"] == "undetermined"  # A2: undetermined is foreign
    assert added["status"] == "active" and added["attestation"] is True
    assert added["certified_on"] is None and added["certification_due"] == "2026-12-01"  # never certified: owed now
    assert added["contact"] != "compliance@nordlicht.example" and added["contact"].endswith("@nordlicht.example")
    assert [a["id"] for a in added["accounts"]] == [account_id]

    shown = client.get(f"/v1/resellers/{added['id']}", headers=auth(keys, "analyst"))
    assert shown.status_code == 200 and shown.json()["contract_reference"] == "MSA-2026-17"
    listed = client.get("/v1/resellers?foreign=true", headers=auth(keys, "analyst")).json()
    assert [item["id"] for item in listed] == [added["id"]]
    assert client.get("/v1/resellers?foreign=false", headers=auth(keys, "analyst")).json() == []

    certified = client.post(f"/v1/resellers/{added['id']}/certifications", json={"certified_on": "2026-11-20"},
                            headers=auth(keys, "compliance-officer"))
    assert certified.status_code == 200
    assert (certified.json()["certified_on"], certified.json()["certification_due"]) == ("2026-11-20", "2027-11-20")

    # the foreign resellers feed the certification (H1)
    form = certification_service(services).render(OFFICER)
    listed_there = form["items"]["foreign_resellers"]["register"]
    assert [item["reseller_id"] for item in listed_there] == [added["id"]]
    assert listed_there[0]["certification_due"] == "2027-11-20"


@pytest.mark.requirement("E1")
@pytest.mark.parametrize(("case", "body", "status", "field"), [
    # what is sent                                      the answer
    ("no such customer", {"customer_id": "00000000-0000-0000-0000-000000000000"}, 404, None),
    ("a contact that is not an e-mail", {"contact": "not-an-address"}, 422, "contact"),
    ("a certification in the future", {"certified_on": "2999-01-01"}, 422, "certified_on"),
])
def test_bad_registrations(services: Services, client: TestClient, keys: dict[str, str], case: str,
                           body: dict[str, Any], status: int, field: str | None) -> None:
    customer_id, _ = reseller_customer(services)
    sent = {"customer_id": customer_id, "contact": "compliance@nordlicht.example", **body}
    response = client.post("/v1/resellers", json=sent, headers=auth(keys, "compliance-officer"))
    assert response.status_code == status, (case, response.text)
    if field is not None:
        assert [f["field"] for f in response.json()["fields"]] == [field], case


@pytest.mark.requirement("E1")
def test_registering_twice_is_409_and_analysts_may_not_write(services: Services, client: TestClient,
                                                             keys: dict[str, str]) -> None:
    customer_id, _ = reseller_customer(services)
    register(client, keys, customer_id)
    again = client.post("/v1/resellers", json={"customer_id": customer_id, "contact": "x@nordlicht.example"},
                        headers=auth(keys, "compliance-officer"))
    assert again.status_code == 409
    other, _ = reseller_customer(services, "Südwind Hosting AG")
    refused = client.post("/v1/resellers", json={"customer_id": other, "contact": "x@suedwind.example"},
                          headers=auth(keys, "analyst"))
    assert refused.status_code == 403


@pytest.mark.control("resellers.register")
@pytest.mark.requirement("E1")
def test_cip_versions_are_kept_hashed_and_sealed(services: Services, client: TestClient, keys: dict[str, str]) -> None:
    customer_id, _ = reseller_customer(services)
    reseller_id = register(client, keys, customer_id)["id"]
    officer = auth(keys, "compliance-officer")
    first = client.post(f"/v1/resellers/{reseller_id}/cip-documents?filename=cip-2026.txt", content=TEXT_CIP,
                        headers={**officer, "Content-Type": "text/plain"})
    assert first.status_code == 201, first.text
    assert (first.json()["version"], first.json()["file_type"]) == (1, "txt")
    assert first.json()["sha256"] == hashlib.sha256(TEXT_CIP).hexdigest()
    second = client.post(f"/v1/resellers/{reseller_id}/cip-documents", files={"file": ("cip.pdf", PDF_CIP)},
                         headers=officer)
    assert second.status_code == 201, second.text
    assert (second.json()["version"], second.json()["file_type"], second.json()["filename"]) == (2, "pdf", "cip.pdf")
    third = client.post(f"/v1/resellers/{reseller_id}/cip-documents", content=HTML_CIP, headers=officer)
    assert third.json()["file_type"] == "html"

    versions = client.get(f"/v1/resellers/{reseller_id}/cip-documents", headers=auth(keys, "analyst")).json()
    assert [v["version"] for v in versions] == [1, 2, 3]
    got = client.get(f"/v1/resellers/{reseller_id}/cip-documents/1", headers=auth(keys, "analyst"))
    assert got.status_code == 200 and got.content == TEXT_CIP
    assert got.headers["X-Content-SHA256"] == hashlib.sha256(TEXT_CIP).hexdigest()
    assert client.get(f"/v1/resellers/{reseller_id}/cip-documents/9", headers=officer).status_code == 404
    with services.database.engine.connect() as conn:
        stored = [bytes(row.content_sealed) for row in conn.execute(select(reseller_cip_document.c.content_sealed))]
        uploads = conn.execute(select(ledger_entry.c.action).where(ledger_entry.c.record_id == reseller_id,
                                                                   ledger_entry.c.action == "upload_cip")).all()
    assert len(stored) == 3 and all(b"Customer Identification" not in s and b"written CIP" not in s for s in stored)
    assert len(uploads) == 3


@pytest.mark.requirement("E1")
@pytest.mark.parametrize(("case", "content", "detail"), [
    # an upload                     what the 422 says about the field "file"
    ("empty", b"", "is empty"),
    ("over the size limit", b"a" * (MAX_CIP_BYTES + 1), "larger than"),
    ("a PNG image", PNG, "unsupported type"),
    ("binary that is not text", bytes(range(256)) * 4, "unsupported type"),
    ("a ZIP archive that is no DOCX", b"PK\x03\x04" + b"\x00" * 60, "unsupported type"),
])
def test_bad_cip_uploads_are_422_naming_the_file(services: Services, client: TestClient, keys: dict[str, str],
                                                 case: str, content: bytes, detail: str) -> None:
    customer_id, _ = reseller_customer(services)
    reseller_id = register(client, keys, customer_id)["id"]
    response = client.post(f"/v1/resellers/{reseller_id}/cip-documents", content=content,
                           headers=auth(keys, "compliance-officer"))
    assert response.status_code == 422, (case, response.status_code)
    [problem] = response.json()["fields"]
    assert problem["field"] == "file" and detail in problem["message"], case
    assert client.get(f"/v1/resellers/{reseller_id}/cip-documents", headers=auth(keys, "analyst")).json() == []


def test_certification_due_is_a_year_after_the_certification(services: Services, client: TestClient,
                                                             keys: dict[str, str]) -> None:
    customer_id, _ = reseller_customer(services)
    added = register(client, keys, customer_id, certified_on="2026-03-01")
    assert date.fromisoformat(added["certification_due"]) == date(2026, 3, 1) + timedelta(days=365)


def _docx() -> bytes:
    """A minimal Word document as a DOCX file is: a ZIP with the OOXML content types and word/document.xml."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>'))
        archive.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships/>')
        archive.writestr("word/document.xml", "<w:document><w:body><w:p>Reseller CIP 2026</w:p></w:body></w:document>")
    return buffer.getvalue()


@pytest.mark.requirement("E1")
@pytest.mark.control("resellers.register")
def test_a_docx_cip_is_taken_as_docx_whatever_its_name_and_read_back_intact(
        services: Services, client: TestClient, keys: dict[str, str]) -> None:
    customer_id, _ = reseller_customer(services)
    reseller_id = register(client, keys, customer_id)["id"]
    content = _docx()
    uploaded = client.post(f"/v1/resellers/{reseller_id}/cip-documents?filename=cip.pdf", content=content,
                           headers={**auth(keys, "compliance-officer"), "Content-Type": "application/pdf"})
    assert uploaded.status_code == 201, uploaded.text
    meta = uploaded.json()
    assert (meta["file_type"], meta["media_type"]) == ("docx", FILE_TYPES["docx"])  # from the bytes, not the name
    assert meta["sha256"] == hashlib.sha256(content).hexdigest()
    got = client.get(f"/v1/resellers/{reseller_id}/cip-documents/1", headers=auth(keys, "analyst"))
    assert got.status_code == 200 and got.content == content
    assert got.headers["content-type"].startswith(FILE_TYPES["docx"])

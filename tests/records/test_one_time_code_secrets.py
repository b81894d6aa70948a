"""B2, A4: a one-time code leaves once, through the provider's webhook; once the notice is delivered
the outbox no longer holds it; its stored hash is a keyed MAC (a copy of the table cannot be searched
over the million codes); the attempts stay limited."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudcip import clock
from cloudcip.jobs.schema import webhook_outbox
from cloudcip.jobs.webhooks import REDACTED, WebhookSettings, deliver_due
from cloudcip.runtime import Services
from cloudcip.verification.schema import otp_challenge

from .conftest import OpenAccount, auth


def _deliver(services: Services) -> list[dict[str, object]]:
    received: list[dict[str, object]] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(json.loads(request.content))
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(receiver)) as http:
        report = deliver_due(services.database, WebhookSettings("https://provider.example/hooks", "whsec_" + "A" * 44),
                             clock.now() + timedelta(seconds=1), client=http)
    assert report.delivered
    return received


@pytest.mark.requirement("B2", "A4")
def test_a_delivered_code_is_gone_from_the_outbox_and_its_hash_is_keyed(
        client: TestClient, keys: dict[str, str], open_account: OpenAccount, services: Services) -> None:
    answer = open_account()
    signup = auth(keys["signup-service"])
    issued = client.post(f"/v1/applications/{answer['id']}/otp/email", headers=signup)
    assert issued.status_code == 202, issued.text
    challenge_id = issued.json()["challenge_id"]
    [sent] = [body["data"] for body in _deliver(services) if body["type"] == "otp.deliver"]
    code = str(sent["code"])  # type: ignore[index]
    assert len(code) == 6

    with services.database.engine.connect() as conn:
        stored = [json.loads(p)["data"] for p in conn.execute(select(webhook_outbox.c.payload_json).where(
            webhook_outbox.c.event_type == "otp.deliver")).scalars()]
        code_hash = conn.execute(select(otp_challenge.c.code_hash)
                                 .where(otp_challenge.c.id == challenge_id)).scalar_one()
    assert [s["code"] for s in stored] == [REDACTED]
    assert code_hash != hashlib.sha256(f"{challenge_id}:{code}".encode()).hexdigest()  # not the unkeyed hash
    unkeyed = {hashlib.sha256(f"{challenge_id}:{n:06d}".encode()).hexdigest() for n in range(0, 1_000_000, 997)}
    assert code_hash not in unkeyed

    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):  # the attempts stay limited: the sixth try is refused even with the right code
        refused = client.post(f"/v1/applications/{answer['id']}/otp/email/confirm", json={"code": wrong},
                              headers=signup)
        assert refused.status_code == 409 and "wrong code" in refused.json()["detail"]
    blocked = client.post(f"/v1/applications/{answer['id']}/otp/email/confirm", json={"code": code}, headers=signup)
    assert blocked.status_code == 409 and "too many attempts" in blocked.json()["detail"]


@pytest.mark.requirement("B2", "A4")
def test_the_delivered_code_confirms_the_contact(
        client: TestClient, keys: dict[str, str], open_account: OpenAccount, services: Services) -> None:
    answer = open_account()
    signup = auth(keys["signup-service"])
    assert client.post(f"/v1/applications/{answer['id']}/otp/email", headers=signup).status_code == 202
    [sent] = [body["data"] for body in _deliver(services) if body["type"] == "otp.deliver"]
    confirmed = client.post(f"/v1/applications/{answer['id']}/otp/email/confirm",
                            json={"code": sent["code"]}, headers=signup)  # type: ignore[index]
    assert confirmed.status_code == 200, confirmed.text

"""Signing in to the console (B4): per-person users, Argon2id passwords, optional TOTP, a session
cookie that is Secure, HttpOnly and SameSite=Strict, CSRF on every form, a strict CSP, the idle
timeout on the injected clock; sign-ins and user changes on the ledger."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.console.conftest import console_of, sign_in
from tests.console.seed import OPERATOR, PASSWORD, Seeded, csrf_of
from typer.testing import CliRunner

from cloudcip import clock
from cloudcip.cli.main import app as cli
from cloudcip.console.schema import console_user
from cloudcip.ledger.schema import ledger_entry
from cloudcip.runtime import Services


@pytest.mark.requirement("B4")
def test_every_console_page_without_a_session_goes_to_sign_in(app_client: TestClient) -> None:
    for path in ("/console/queue", "/console/accounts/00000000-0000-0000-0000-000000000000", "/console/approvals",
                 "/console/measures", "/console/lists", "/console/rescreens", "/console/ledger/proof/0"):
        answer = app_client.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login", path
    assert app_client.post("/console/queue/claim", data={"item": "case:x"}).headers["location"] == "/console/login"


@pytest.mark.requirement("B4")
def test_sign_in_sets_a_secure_http_only_same_site_session_and_a_strict_csp(app_client: TestClient,
                                                                            services: Services) -> None:
    page = app_client.get("/console/login")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and page.headers["x-content-type-options"] == "nosniff"
    token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = app_client.post("/console/login", data={"login_token": token, "username": "ana", "password": PASSWORD})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("__Host-cloudcip-console="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert app_client.get("/console/queue").status_code == 200
    with services.database.engine.connect() as conn:
        actions = list(conn.execute(select(ledger_entry.c.action).where(ledger_entry.c.actor == "console:ana")
                                    ).scalars())
    assert "sign_in" in actions


@pytest.mark.requirement("B4")
@pytest.mark.parametrize(("username", "password", "login_token_ok"), [
    ("ana", "wrong password here", True),
    ("nobody", PASSWORD, True),
    ("ana", PASSWORD, False),
])
def test_a_refused_sign_in_says_the_same_thing_and_gives_no_session(app_client: TestClient, username: str,
                                                                    password: str, login_token_ok: bool) -> None:
    page = app_client.get("/console/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = app_client.post("/console/login", data={"login_token": token if login_token_ok else "forged",
                                                     "username": username, "password": password})
    assert answer.status_code in (401, 403)
    assert not any(c.startswith("__Host-cloudcip-console=") and "Max-Age=0" not in c
                   for c in answer.headers.get_list("set-cookie"))
    assert app_client.get("/console/queue").status_code == 303


@pytest.mark.requirement("B4")
def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(as_person: Callable[[str], TestClient],
                                                                      seeded: Seeded, services: Services) -> None:
    ana = as_person("ana")
    case_id = seeded.in_review[0]
    for data in ({"decision": "approved", "reason": "looks fine", "expected_state": "in_review", "confirm": "1"},
                 {"decision": "approved", "reason": "looks fine", "expected_state": "in_review", "confirm": "1",
                  "csrf_token": "not-the-token"}):
        answer = ana.post(f"/console/cases/{case_id}/review", data=data)
        assert answer.status_code == 403 and "CSRF" in answer.text
    assert console_of(ana).applications.show(case_id, OPERATOR)["state"] == "in_review"


@pytest.mark.requirement("B4")
def test_the_session_ends_after_the_idle_timeout(app_client: TestClient) -> None:
    start = clock.now()
    with clock.frozen(start):
        sign_in(app_client, "ana")
        assert app_client.get("/console/queue").status_code == 200
    with clock.frozen(start + timedelta(minutes=14)):
        assert app_client.get("/console/queue").status_code == 200  # activity moves the idle clock
    with clock.frozen(start + timedelta(minutes=14 + 16)):
        expired = app_client.get("/console/queue")
        assert expired.status_code == 303 and expired.headers["location"] == "/console/login"
    with clock.frozen(start + timedelta(minutes=31)):
        assert app_client.get("/console/queue").status_code == 303  # ended for good


@pytest.mark.requirement("B4")
def test_sign_out_ends_the_session(app_client: TestClient) -> None:
    sign_in(app_client, "ana")
    page = app_client.get("/console/queue")
    assert app_client.post("/console/logout", data={"csrf_token": csrf_of(page.text)}).status_code == 200
    app_client.cookies.clear()
    assert app_client.get("/console/queue").status_code == 303


@pytest.mark.requirement("B4")
def test_a_second_factor_is_required_when_the_person_has_one(app_client: TestClient) -> None:
    users = console_of(app_client).users
    _user, uri = users.add("tess", PASSWORD, "analyst", OPERATOR, totp=True)
    assert uri and uri.startswith("otpauth://totp/")
    page = app_client.get("/console/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    refused = app_client.post("/console/login", data={"login_token": token, "username": "tess", "password": PASSWORD,
                                                      "code": "000000"})
    assert refused.status_code == 401
    sign_in(app_client, "tess", code=users.totp_now("tess"))
    assert app_client.get("/console/queue").status_code == 200


@pytest.mark.requirement("B4")
def test_cli_adds_lists_and_disables_console_users(services: Services, app_client: TestClient) -> None:
    runner = CliRunner()
    data_dir = ["--data-dir", str(services.settings.data_dir)]
    env = {"CLOUDCIP_DATABASE_URL": services.settings.database_url}
    added = runner.invoke(cli, [*data_dir, "console", "users", "add", "zoe", "--role", "compliance-officer"],
                          input=f"{PASSWORD}\n{PASSWORD}\n", env=env)
    assert added.exit_code == 0, added.output
    short = runner.invoke(cli, [*data_dir, "console", "users", "add", "zed", "--role", "analyst",
                                "--password", "short"], env=env)
    assert short.exit_code == 2 and "password" in short.output
    bad_role = runner.invoke(cli, [*data_dir, "console", "users", "add", "zed", "--role", "signup-service",
                                   "--password", PASSWORD], env=env)
    assert bad_role.exit_code == 2 and "role" in bad_role.output
    listed = runner.invoke(cli, [*data_dir, "console", "users", "list", "--json"], env=env)
    assert '"username": "zoe"' in listed.output and '"role": "compliance-officer"' in listed.output
    with services.database.engine.connect() as conn:
        stored = conn.execute(select(console_user.c.password_hash).where(console_user.c.username == "zoe")).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    sign_in(app_client, "zoe")
    assert app_client.get("/console/measures").status_code == 200
    disabled = runner.invoke(cli, [*data_dir, "console", "users", "disable", "zoe"], env=env)
    assert disabled.exit_code == 0
    assert app_client.get("/console/measures").status_code == 303  # the open session ended


@pytest.mark.requirement("B4")
def test_the_demo_makes_one_console_user_per_role(tmp_path: Path) -> None:
    from cloudcip.api.app import create_app
    from cloudcip.runtime import open_services
    from cloudcip.settings import Settings

    data_dir = tmp_path / "demo"
    done = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "demo", "--customers", "3", "--no-serve"],
                              env={"CLOUDCIP_DATABASE_URL": ""})
    assert done.exit_code == 0, done.output
    lines = (data_dir / "demo-console-users.txt").read_text().splitlines()
    people = dict(line.split("\t") for line in lines)
    assert set(people) == {"demo-analyst", "demo-compliance-officer", "demo-legal", "demo-auditor", "demo-admin"}
    services = open_services(Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'cloudcip.db'}"))
    try:
        with TestClient(create_app(services), base_url="https://testserver", follow_redirects=False) as client:
            sign_in(client, "demo-analyst", people["demo-analyst"])
            assert client.get("/console/queue").status_code == 200
    finally:
        services.close()


@pytest.mark.requirement("B4")
def test_console_responses_carry_the_security_headers_and_api_responses_are_left_alone(
        app_client: TestClient) -> None:
    page = app_client.get("/console/login")
    asset = app_client.get("/console/static/console.css")
    redirect = app_client.get("/console/queue")  # no session: a redirect, headers all the same
    for answer in (page, asset, redirect):
        assert answer.headers["x-frame-options"] == "DENY" and answer.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store" and redirect.headers["cache-control"] == "no-store"
    assert asset.status_code == 200 and asset.headers.get("cache-control") != "no-store"
    api = app_client.get("/healthz")
    assert api.status_code == 200 and "content-security-policy" not in api.headers

"""Fixtures of the console tests: the app over the engine-parametrised services, people of every
role, seeded cases and hits, and a signed-in client per person."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from tests.console.seed import PASSWORD, Seeded, add_people, seed

from cloudcip.api.app import create_app
from cloudcip.console.web import Console
from cloudcip.runtime import Services


@pytest.fixture
def app_client(services: Services) -> Iterator[TestClient]:
    # https: the session cookie is Secure (and __Host-), so the client only sends it over https
    with TestClient(create_app(services), base_url="https://testserver", follow_redirects=False,
                    raise_server_exceptions=False) as client:
        add_people(console_of(client).users)
        yield client


def console_of(client: TestClient) -> Console:
    console: Console = client.app.state.console  # type: ignore[attr-defined]
    return console


@pytest.fixture
def seeded(app_client: TestClient, services: Services) -> Seeded:
    console = console_of(app_client)
    return seed(services, console.applications)


def sign_in(client: TestClient, username: str, password: str = PASSWORD, code: str | None = None) -> TestClient:
    page = client.get("/console/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token
    answer = client.post("/console/login", data={"login_token": token.group(1), "username": username,
                                                 "password": password, "code": code or ""})
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
def as_person(services: Services, app_client: TestClient) -> Callable[[str], TestClient]:
    """A fresh client of the same app signed in as ``username`` (cookies of its own)."""
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        client = TestClient(app_client.app, base_url="https://testserver", follow_redirects=False,
                            raise_server_exceptions=False)
        clients.append(client)
        return sign_in(client, username)

    yield make  # type: ignore[misc]
    for client in clients:
        client.close()

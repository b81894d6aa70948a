"""Browser tests of the console: Playwright driving Debian's Chromium (``/usr/bin/chromium``; no
browser download), against a real ``uvicorn`` server over TLS on 127.0.0.1 in this process (so
tests move ``cloudcip.clock`` instead of sleeping). Seeded through the services: people of every
role, cases in review, a listed person's hits, access from several countries.

Screenshots of each main page go to ``tests/e2e/screenshots/`` (git-ignored) for a reviewer.
Where Chromium or Playwright is missing the tests skip, saying so, unless
``CLOUDCIP_REQUIRE_BROWSER=1`` (``.ci/run``) makes that an error.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cloudcip.runtime import Services, initialise, open_services
from cloudcip.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).parent / "screenshots"


def _require_browser() -> None:
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "playwright is not installed (pip install -e '.[test]')"
    if reason is None and not CHROMIUM.exists():
        reason = f"{CHROMIUM} is absent (apt-get install chromium)"
    if reason:
        if os.environ.get("CLOUDCIP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, and CLOUDCIP_REQUIRE_BROWSER=1 requires it")
        pytest.skip(reason)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class LiveConsole:
    base_url: str
    services: Services
    app: Any
    seeded: Any
    legal_process: str  # a registered legal process whose scope covers the first seeded customer

    @property
    def console(self) -> Any:
        return self.app.state.console


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveConsole]:
    _require_browser()
    import uvicorn
    from tests.console.seed import add_people, seed

    from cloudcip.access.events import AccessEvent
    from cloudcip.access.store import ingest
    from cloudcip.api.app import create_app

    root = tmp_path_factory.mktemp("e2e")
    settings = Settings(data_dir=root / "data", database_url=f"sqlite:///{root / 'cloudcip.db'}")
    initialise(settings)
    services = open_services(settings)
    app = create_app(services)
    add_people(app.state.console.users)
    seeded = seed(services, app.state.console.applications, cases=8)
    import ipaddress

    from sqlalchemy import select

    from cloudcip.storage.schema import account

    with services.database.engine.connect() as conn:
        accounts = list(conn.execute(select(account.c.id).where(
            account.c.customer_id == seeded.customers[0])).scalars())
    base = dt.datetime.now(dt.UTC) - dt.timedelta(days=20)
    addresses = ["81.2.69.142", "8.8.8.8", "5.9.0.1", "200.160.2.3", "8.8.4.4", "81.2.69.142"]
    ingest(services.database, [
        AccessEvent(account_id=accounts[0], principal="root", time=base + dt.timedelta(hours=i * 7),
                    ip=ipaddress.ip_address(addresses[i % len(addresses)]), action="console.login",
                    id=f"e2e-{i}") for i in range(18)])
    from cloudcip.records.legal_process import LegalProcessInput
    from cloudcip.records.roles import Actor
    from cloudcip.runtime import legal_processes

    process = legal_processes(services).register(LegalProcessInput.model_validate({
        "kind": "subpoena", "authority": "District Court", "reference": "2026-17",
        "customers": [seeded.customers[0]]}), Actor("e2e:legal", "legal"))
    cert, key = _self_signed(root)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           ssl_certfile=str(cert), ssl_keyfile=str(key)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the console server did not start"
    try:
        yield LiveConsole(f"https://127.0.0.1:{port}", services, app, seeded, process.id)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        services.close()


@pytest.fixture(scope="session")
def browser(live: LiveConsole) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any, live: LiveConsole) -> Iterator[Any]:
    """A fresh browser context (no cookies) per person; pages open on the live console."""
    contexts: list[Any] = []

    def make(username: str | None = None) -> Any:
        context = browser.new_context(ignore_https_errors=True, base_url=live.base_url,
                                      viewport={"width": 1366, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        if username:
            sign_in(page, username)
        return page

    yield make
    for context in contexts:
        context.close()


def sign_in(page: Any, username: str) -> None:
    from tests.console.seed import PASSWORD

    page.goto("/console/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/*")


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

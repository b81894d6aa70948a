"""B4: the API's documentation pages work with no network: ``/docs`` and ``/redoc`` name no other host,
and every asset they load is served by cloudcip itself (DESIGN.md: no asset from a CDN at run time)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient


class _References(HTMLParser):
    """Every URL a page loads or links: src, href, and the strings of its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.urls += re.findall(r"""["'`](https?:)?//[^"'`]+["'`]""", data)
            self.urls += [m.strip("'\"") for m in re.findall(r"""(?:url|Url)\s*:\s*['"]([^'"]+)['"]""", data)]


def _references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


@pytest.fixture
def database_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'cloudcip.db'}"


@pytest.mark.requirement("B4")
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_documentation_pages_load_nothing_from_another_host(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html, "an external URL in " + page
    urls = _references(html)
    assert any(url.endswith(".js") for url in urls), urls  # the page does load its script: from here
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{page} loads {url} from another host"
        asset = client.get(url)
        assert asset.status_code == 200, (url, asset.status_code)
        assert asset.content, url


@pytest.mark.requirement("B4")
def test_the_assets_are_the_real_swagger_ui_and_redoc(client: TestClient) -> None:
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert b"SwaggerUIBundle" in script.content
    assert "text/css" in client.get("/docs/assets/swagger-ui.css").headers["content-type"]
    assert b"Redoc" in client.get("/docs/assets/redoc.standalone.js").content
    assert client.get("/docs/assets/../../cloudcip/settings.py").status_code == 404
    # the page names the API's own document, which is served
    assert "/openapi.json" in client.get("/docs").text
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")

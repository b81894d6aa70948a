"""``cloudcip serve`` answers on the socket it bound itself, as a TCP socket (A1-A8 over HTTP).

Handing uvicorn a bare file descriptor made it rebuild the socket as a Unix-domain one; asyncio then
left Nagle's algorithm on for each TCP connection, so every answer written in two parts waited for
the client's delayed acknowledgement (about 40 ms a request: the signup benchmark fell from 169 to 66
decisions a second). The test looks at the connection the server accepted, in this process, and
checks that TCP_NODELAY is set on it."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from cloudcip.cli import service


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _server_side(local: tuple[str, int], remote: tuple[str, int]) -> socket.socket:
    """The accepted connection of this process whose ends are ``local`` and ``remote``."""
    for name in os.listdir("/proc/self/fd"):
        try:
            candidate = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        try:
            if (candidate.family == socket.AF_INET and candidate.getsockname() == local
                    and candidate.getpeername() == remote):
                return candidate
        except OSError:
            pass
        candidate.close()
    raise AssertionError("the accepted connection was not found")


@pytest.mark.requirement("A4")
def test_serve_sets_tcp_nodelay_on_each_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs Linux /proc")
    servers: list[uvicorn.Server] = []

    class Recorded(uvicorn.Server):
        def __init__(self, config: uvicorn.Config) -> None:
            super().__init__(config)
            servers.append(self)

    monkeypatch.setattr(uvicorn, "Server", Recorded)
    listener = service._listen("127.0.0.1", 0)
    address = listener.getsockname()
    thread = threading.Thread(target=service.run_server, daemon=True,
                              args=(listener, uvicorn.Config(_hello, lifespan="off", log_level="warning")))
    thread.start()
    try:
        with socket.create_connection(address, timeout=30) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            assert client.recv(1024).startswith(b"HTTP/1.1 200")
            accepted = _server_side(address, client.getsockname())
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        for server in servers:
            server.should_exit = True
        thread.join(timeout=30)
        listener.close()
    assert not thread.is_alive()


@pytest.mark.requirement("A4")
def test_workers_have_time_to_start_before_their_health_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve --workers N``: uvicorn's supervisor kills a worker that does not answer its health check
    in time. At uvicorn's 5 s a spawned worker, still importing the command line on a busy machine,
    was killed and replaced every few seconds (each replacement paying the app's import and its
    screening index again, on the customers' requests); the supervisor now waits
    ``WORKER_HEALTHCHECK_S``."""
    import uvicorn.supervisors

    supervised: list[uvicorn.Config] = []

    class Recorded:
        def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
            supervised.append(config)

        def run(self) -> None:
            pass

    monkeypatch.setattr(uvicorn.supervisors, "Multiprocess", Recorded)
    listener = service._listen("127.0.0.1", 0)
    try:
        service.run_server(listener, uvicorn.Config(_hello, workers=2, lifespan="off", log_level="warning"))
    finally:
        listener.close()
    assert [config.timeout_worker_healthcheck for config in supervised] == [service.WORKER_HEALTHCHECK_S]
    assert service.WORKER_HEALTHCHECK_S >= 30

"""HTTP/1.1 keep-alive on the simulated API server, as uvicorn serves the real one.

SkyPilot 0.14.1 builds its ``uvicorn.Config`` without ``timeout_keep_alive`` (sky/server/server.py),
so uvicorn's default applies: an idle connection is closed 5 s after its last response.
"""

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from simulator import Simulator
from simulator.keepalive import DEFAULT_KEEP_ALIVE_TIMEOUT
from tests.unit.simulator.helpers import NEW_CLIENT, TIMEOUT

IDLE = 0.3


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(services=1, replicas_per_service=1, keep_alive_timeout=IDLE) as running:
        yield running


def _connect(sim: Simulator) -> socket.socket:
    parts = urlsplit(sim.url)
    return socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=TIMEOUT)


def _read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """Head and body of the next Content-Length framed response on ``sock``.

    Reads byte by byte so that nothing of a pipelined next response is consumed.
    """
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        assert byte, f"connection closed mid-head: {head!r}"
        head += byte
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        assert chunk, "connection closed mid-body"
        body += chunk
    return head.removesuffix(b"\r\n\r\n"), body


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """How long until the server closed the connection, or None if it stayed open for ``seconds``."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        assert sock.recv(1) == b""
    except TimeoutError:
        return None
    return time.monotonic() - started


def test_default_is_uvicorns() -> None:
    assert DEFAULT_KEEP_ALIVE_TIMEOUT == 5.0


def test_one_connection_serves_several_requests_then_idles_out(sim: Simulator) -> None:
    before = sim.api_connections
    with _connect(sim) as sock:
        for _ in range(3):
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: sim\r\n\r\n")
            head, body = _read_response(sock)
            assert head.startswith(b"HTTP/1.1 200")
            assert b"connection: close" not in head.lower()
            assert body.startswith(b"{")
        waited = _closed_within(sock, TIMEOUT)
        assert waited is not None
        assert IDLE * 0.8 <= waited < IDLE + 1.0
    after = sim.api_connections
    assert (after.opened, after.idled_out) == (before.opened + 1, before.idled_out + 1)


def test_the_wait_for_a_first_request_has_no_limit(sim: Simulator) -> None:
    # uvicorn starts its keep-alive timer only once a response is complete.
    with _connect(sim) as sock:
        time.sleep(IDLE * 2)
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: sim\r\n\r\n")
        head, _ = _read_response(sock)
        assert head.startswith(b"HTTP/1.1 200")


def test_pipelined_requests_and_unread_bodies_keep_the_stream_in_step(sim: Simulator) -> None:
    body = b'{"service_names": null}'
    post = (
        b"POST /serve/status HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    # 405: the app never reads this body, so the server must skip it to find the next request.
    unread = b"PUT /api/health HTTP/1.1\r\nHost: sim\r\nContent-Length: 5\r\n\r\nxxxxx"
    with _connect(sim) as sock:
        sock.sendall(post + unread + b"GET /api/health HTTP/1.1\r\nHost: sim\r\n\r\n")
        statuses = [_read_response(sock)[0].split(b"\r\n", 1)[0] for _ in range(3)]
    assert statuses == [b"HTTP/1.1 200 OK", b"HTTP/1.1 405 Method Not Allowed", b"HTTP/1.1 200 OK"]


def test_a_client_that_asks_to_close_is_closed(sim: Simulator) -> None:
    for request in (
        b"GET /api/health HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n",
        b"GET /api/health HTTP/1.0\r\n\r\n",
    ):
        with _connect(sim) as sock:
            sock.sendall(request)
            head, _ = _read_response(sock)
            assert b"connection: close" in head.lower()
            assert _closed_within(sock, TIMEOUT) is not None


def test_a_pooled_connection_dropped_while_idle_is_replaced(sim: Simulator) -> None:
    with requests.Session() as session:
        first = session.get(f"{sim.url}/api/health", headers=NEW_CLIENT, timeout=TIMEOUT)
        assert first.status_code == 200
        time.sleep(IDLE + 0.4)
        second = session.get(f"{sim.url}/api/health", headers=NEW_CLIENT, timeout=TIMEOUT)
        assert second.status_code == 200


def test_stop_closes_idle_connections_at_once() -> None:
    sim = Simulator(services=1, replicas_per_service=1, keep_alive_timeout=60).start()
    try:
        with _connect(sim) as sock:
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: sim\r\n\r\n")
            _read_response(sock)
            assert _closed_within(sock, 0.3) is None
            sim.stop()
            waited = _closed_within(sock, TIMEOUT)
            assert waited is not None
            assert waited < 1.0
    finally:
        sim.stop()


def test_keep_alive_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="keep_alive_timeout"):
        Simulator(keep_alive_timeout=0)

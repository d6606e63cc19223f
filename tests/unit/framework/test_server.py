"""The HTTP server against clients that misbehave: idle, half-sent, trickling, oversized, malformed."""

import http.client
import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask, Response, request

from exporter.server import HTTPServer, ServerLimits
from tests.unit.framework.fakes import wait_serving

HOST = "127.0.0.1"
LIMITS = ServerLimits(read_header_timeout=0.5, idle_timeout=1.0, write_timeout=2.0, max_connections=40)


def _app() -> Flask:
    app = Flask("test", static_folder=None)

    @app.get("/hello")
    def hello() -> Response:
        return Response(b"hello\n" * 1000, content_type="text/plain")

    @app.get("/tiny")
    def tiny() -> Response:
        return Response(b"ok\n", content_type="text/plain")

    @app.get("/big")
    def big() -> Response:
        return Response([b"x" * (1 << 20)] * 32, content_type="text/plain")

    @app.post("/echo")
    def echo() -> Response:
        return Response(request.get_data(), content_type="application/octet-stream")

    return app


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    srv = HTTPServer(_app(), f"{HOST}:0", logging.getLogger("test"), LIMITS)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    wait_serving(HOST, srv.port)
    yield srv
    srv.stop()
    thread.join(10)
    assert not thread.is_alive()


def _get(port: int, path: str = "/hello", timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """True once the server has closed ``sock`` (EOF or reset), False if still open after ``seconds``."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


def test_answers_and_keeps_the_connection_alive(server: HTTPServer) -> None:
    conn = http.client.HTTPConnection(HOST, server.port, timeout=5)
    for _ in range(3):
        conn.request("GET", "/hello")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"hello\n" * 1000)
        assert response.getheader("Content-Length") == "6000"
    conn.request("HEAD", "/hello")
    head = conn.getresponse()
    assert (head.status, head.read(), head.getheader("Content-Length")) == (200, b"", "6000")
    conn.close()


def test_a_small_answer_leaves_in_one_piece(server: HTTPServer) -> None:
    """Head and body in one write: split, the body would wait for the client's delayed ACK."""
    with socket.create_connection((HOST, server.port), timeout=5) as sock:
        for _ in range(3):
            sock.sendall(b"GET /tiny HTTP/1.1\r\nHost: x\r\n\r\n")
            first = sock.recv(65536)
            assert first.startswith(b"HTTP/1.1 200 ") and first.endswith(b"\r\n\r\nok\n")


def test_serves_only_the_apps_routes(server: HTTPServer) -> None:
    assert _get(server.port, "/static/app.py")[0] == 404
    assert _get(server.port, "/../../etc/passwd")[0] == 404


def test_a_half_sent_request_is_closed_after_the_header_timeout(server: HTTPServer) -> None:
    with socket.create_connection((HOST, server.port)) as sock:
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        assert _closed_within(sock, 5)
        assert time.monotonic() - started < 3


def test_a_trickled_head_is_closed_although_bytes_keep_coming(server: HTTPServer) -> None:
    """Slowloris: a byte every 0.1 s resets no timer; the head's whole deadline is what counts."""
    with socket.create_connection((HOST, server.port)) as sock:
        started = time.monotonic()
        closed = False
        for byte in b"GET /hello HTTP/1.1\r\nX-Slow: " + b"a" * 200:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.1)
            if time.monotonic() - started > 5:
                break
        assert closed or _closed_within(sock, 1)
        assert time.monotonic() - started < 3


def test_an_idle_keep_alive_connection_is_reaped(server: HTTPServer) -> None:
    conn = http.client.HTTPConnection(HOST, server.port, timeout=5)
    conn.request("GET", "/hello")
    conn.getresponse().read()
    assert conn.sock is not None
    started = time.monotonic()
    assert _closed_within(conn.sock, 5)
    assert 0.8 < time.monotonic() - started < 3
    conn.close()


def test_past_max_connections_the_idlest_is_closed_and_the_scrape_answered(server: HTTPServer) -> None:
    idle = [socket.create_connection((HOST, server.port)) for _ in range(LIMITS.max_connections)]
    try:
        time.sleep(0.1)
        assert _get(server.port) == (200, b"hello\n" * 1000)
        assert _closed_within(idle[0], 1), "the oldest idle connection made room"
    finally:
        for sock in idle:
            sock.close()


def test_many_idle_and_trickling_connections_do_not_block_a_scrape(server: HTTPServer) -> None:
    held = [socket.create_connection((HOST, server.port)) for _ in range(30)]
    try:
        for sock in held[:10]:
            sock.sendall(b"GET /hello HTTP/1.1\r\n")
        for _ in range(3):
            started = time.monotonic()
            assert _get(server.port)[0] == 200
            assert time.monotonic() - started < 1
    finally:
        for sock in held:
            sock.close()


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", 431),
        (b"NOT A REQUEST\r\n\r\n", 400),
        (b"GET /hello HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n", 413),
        (b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ],
)
def test_malformed_requests_get_an_error_and_a_closed_connection(
    server: HTTPServer, raw: bytes, status: int
) -> None:
    with socket.create_connection((HOST, server.port), timeout=5) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(f"HTTP/1.1 {status} ".encode())
    assert _get(server.port)[0] == 200, "the server lives on"


def test_a_small_body_reaches_the_app(server: HTTPServer) -> None:
    conn = http.client.HTTPConnection(HOST, server.port, timeout=5)
    conn.request("POST", "/echo", body=b"x" * 1000)
    assert conn.getresponse().read() == b"x" * 1000
    conn.close()


def test_a_client_that_never_reads_its_answer_is_dropped(server: HTTPServer) -> None:
    with socket.create_connection((HOST, server.port)) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(LIMITS.write_timeout + 1)
        assert _get(server.port)[0] == 200
        # What the kernel had buffered still arrives, then the end: the answer was cut off. A
        # server still waiting to write would deliver all of it.
        sock.settimeout(5)
        received = 0
        while piece := sock.recv(1 << 20):
            received += len(piece)
        assert received < 32 << 20

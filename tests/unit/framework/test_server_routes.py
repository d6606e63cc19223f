"""Collector routes (/probe) on the server's own bounded pool: concurrent, apart from the app's
threads, refused at once past the bound, and given the same query and headers as through the app."""

import base64
import http.client
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import bcrypt
import pytest
from flask import Flask

from exporter.app import create_app
from exporter.collector import Route
from exporter.server import HTTPServer, ServerLimits
from exporter.snapshot import SnapshotStore
from exporter.webconfig import WebConfigWatcher
from tests.unit.framework.fakes import metrics_app, wait_serving

HOST = "127.0.0.1"
GUARD_SECONDS = 20.0  # only for a broken server: a test waits this long before it fails


@contextmanager
def serving(
    routes: Mapping[str, Route],
    limits: ServerLimits,
    app: Flask | None = None,
    through_app: bool = False,
    web: WebConfigWatcher | None = None,
) -> Iterator[HTTPServer]:
    """A server whose collector routes are ``routes``; ``through_app``: the app answers them."""
    server = HTTPServer(
        app or metrics_app(),
        f"{HOST}:0",
        logging.getLogger("test"),
        limits,
        web,
        routes=None if through_app else lambda: routes,
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_serving(HOST, server.port)
    try:
        yield server
    finally:
        server.stop()
        thread.join(10)
        assert not thread.is_alive()


def _get(port: int, path: str, method: str = "GET") -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection(HOST, port, timeout=GUARD_SECONDS)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Content-Type", "")
    finally:
        conn.close()


class HeldRoute:
    """A route that holds each request until released, counting those inside it."""

    def __init__(self, wait: Callable[[], bool]) -> None:
        self._wait = wait
        self._lock = threading.Lock()
        self.entered = 0
        self.all_in = threading.Event()
        self.expected = 0

    def __call__(self, query: Mapping[str, str], headers: Mapping[str, str]) -> tuple[int, bytes, str]:
        with self._lock:
            self.entered += 1
            if self.entered >= self.expected:
                self.all_in.set()
        released = self._wait()
        return (200, b"released\n", "text/plain") if released else (500, b"never released\n", "text/plain")


def test_many_slow_probes_run_at_once_on_threads_of_their_own() -> None:
    """More probes than the app has threads are all inside the route at the same time (each waits
    at a barrier that opens only when all have arrived), and /metrics is answered meanwhile."""
    probes = 80
    limits = ServerLimits(threads=2, max_probes=128)
    barrier = threading.Barrier(probes + 1)

    def wait() -> bool:
        try:
            barrier.wait(GUARD_SECONDS)
        except threading.BrokenBarrierError:
            return False
        return True

    route = HeldRoute(wait)
    route.expected = probes
    with serving({"/probe": route}, limits) as server, ThreadPoolExecutor(probes) as clients:
        answers = [clients.submit(_get, server.port, "/probe?target=x") for _ in range(probes)]
        assert route.all_in.wait(GUARD_SECONDS), f"only {route.entered} of {probes} probes started"
        assert _get(server.port, "/metrics")[:2] == (200, b"up 1\n"), "the app answers while probes wait"
        barrier.wait(GUARD_SECONDS)
        assert [future.result()[:2] for future in answers] == [(200, b"released\n")] * probes


def test_past_max_probes_a_probe_is_refused_at_once_and_metrics_still_answered() -> None:
    limits = ServerLimits(threads=2, max_probes=4)
    release = threading.Event()
    route = HeldRoute(lambda: release.wait(GUARD_SECONDS))
    route.expected = limits.max_probes
    with serving({"/probe": route}, limits) as server, ThreadPoolExecutor(limits.max_probes) as clients:
        held = [clients.submit(_get, server.port, "/probe?target=x") for _ in range(limits.max_probes)]
        try:
            assert route.all_in.wait(GUARD_SECONDS)
            status, body, content_type = _get(server.port, "/probe?target=x")
            assert (status, body) == (503, b"probe limit reached (4 at once): try again later\n")
            assert content_type == "text/plain; charset=utf-8"
            assert route.entered == limits.max_probes, "the refused probe never ran"
            assert _get(server.port, "/metrics")[:2] == (200, b"up 1\n")
        finally:
            release.set()
        assert [future.result()[0] for future in held] == [200] * limits.max_probes
        # Every slot was given back: a full set of probes runs again.
        again = [clients.submit(_get, server.port, "/probe?target=x") for _ in range(limits.max_probes)]
        assert [future.result()[0] for future in again] == [200] * limits.max_probes
    assert route.entered == 2 * limits.max_probes


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, str], dict[str, str]]] = []

    def __call__(self, query: Mapping[str, str], headers: Mapping[str, str]) -> tuple[int, bytes, str]:
        self.seen.append((dict(query), dict(headers)))
        return 200, b"ok\n", "text/plain; version=0.0.4; charset=utf-8"


def _offering(route: Route) -> Callable[[], Mapping[str, Route]]:
    return lambda: {"/probe": route}


RAW_REQUESTS = [
    b"GET /probe?target=http%3A%2F%2Fh%3A1%2Fhealth&module=http_2xx HTTP/1.1\r\nHost: x\r\n"
    b"X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n",
    b"GET /probe?target=first&target=second&module=&plus=a+b&bad=%FF%41&empty HTTP/1.1\r\nHost: x\r\n"
    b"Accept: a\r\nACCEPT: b\r\nX_Under: u\r\n\r\n",
    b"GET /pro%62e?target=%E2%82%AC HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n\r\n",
    b"HEAD /probe?target=head HTTP/1.1\r\nHost: x\r\n\r\n",
]


def _exchange(port: int, raw: bytes) -> bytes:
    with socket.create_connection((HOST, port), timeout=GUARD_SECONDS) as sock:
        sock.sendall(raw.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n", 1))
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _without_date(answer: bytes) -> bytes:
    return b"\r\n".join(line for line in answer.split(b"\r\n") if not line.lower().startswith(b"date:"))


def test_a_route_gets_the_same_query_headers_and_answer_by_either_door() -> None:
    """The server's own dispatch gives the route what the app's catch-all route gives it (the
    first value of a name, werkzeug's decoding, headers joined and lower-cased), and the client
    gets the same answer."""
    answers: dict[bool, list[bytes]] = {}
    seen: dict[bool, list[tuple[dict[str, str], dict[str, str]]]] = {}
    for through_app in (False, True):
        recorder = Recorder()
        app = create_app(SnapshotStore({}), time.time, routes=_offering(recorder))
        with serving({"/probe": recorder}, ServerLimits(), app, through_app) as server:
            answers[through_app] = [_without_date(_exchange(server.port, raw)) for raw in RAW_REQUESTS]
        seen[through_app] = recorder.seen
    assert seen[False] == seen[True]
    assert seen[False][1][0] == {
        "target": "first",
        "module": "",
        "plus": "a b",
        "bad": "%FFA",
        "empty": "",
    }
    assert seen[False][1][1]["accept"] == "a, b"
    assert seen[False][2][0] == {"target": "€"}
    assert answers[False] == answers[True]
    head_only = answers[False][3]
    assert b"\r\ncontent-length: 3\r\n" in head_only and head_only.endswith(b"\r\n\r\n"), "HEAD: no body"


def test_a_failing_route_is_a_500_and_the_server_lives_on() -> None:
    calls: list[int] = []

    def broken(query: Mapping[str, str], headers: Mapping[str, str]) -> tuple[int, bytes, str]:
        calls.append(1)
        raise RuntimeError("bug")

    limits = ServerLimits(max_probes=1)
    with serving({"/probe": broken}, limits) as server:
        assert _get(server.port, "/probe")[:2] == (500, b"internal error\n")
        assert _get(server.port, "/probe")[0] == 500, "its slot was given back"
        assert _get(server.port, "/metrics")[0] == 200
    assert len(calls) == 2


@pytest.mark.parametrize(("method", "path"), [("POST", "/probe"), ("GET", "/probe/"), ("GET", "/probes")])
def test_what_is_not_a_route_request_is_the_apps_to_answer(method: str, path: str) -> None:
    recorder = Recorder()
    app = create_app(SnapshotStore({}), time.time, routes=_offering(recorder))
    with serving({"/probe": recorder}, ServerLimits(), app) as server:
        assert _get(server.port, path, method)[0] == (405 if method == "POST" else 404)
    assert recorder.seen == []


def test_a_route_is_behind_basic_auth_and_gets_the_configured_headers(tmp_path: Path) -> None:
    password_hash = bcrypt.hashpw(b"secret", bcrypt.gensalt(4)).decode()
    config = tmp_path / "web.yml"
    config.write_text(
        f"basic_auth_users: {{alice: '{password_hash}'}}\n"
        "http_server_config: {headers: {X-Content-Type-Options: nosniff}}\n"
    )
    web = WebConfigWatcher(config, logging.getLogger("test"))
    recorder = Recorder()

    def get(credentials: bytes | None) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection(HOST, server.port, timeout=GUARD_SECONDS)
        headers = {"Authorization": "Basic " + base64.b64encode(credentials).decode()} if credentials else {}
        conn.request("GET", "/probe?target=x", headers=headers)
        response = conn.getresponse()
        response.read()
        conn.close()
        return response

    with serving({"/probe": recorder}, ServerLimits(), web=web) as server:
        assert get(None).status == 401
        assert get(b"alice:wrong").status == 401
        assert recorder.seen == [], "no route runs for a request that is not authorized"
        allowed = get(b"alice:secret")
    assert allowed.status == 200
    assert allowed.getheader("X-Content-Type-Options") == "nosniff"
    assert [query for query, _ in recorder.seen] == [{"target": "x"}]


def test_routes_that_cannot_be_listed_leave_the_app_to_answer() -> None:
    def broken() -> Mapping[str, Route]:
        raise RuntimeError("a plugin's bug")

    server = HTTPServer(metrics_app(), f"{HOST}:0", logging.getLogger("test"), ServerLimits(), routes=broken)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_serving(HOST, server.port)
    try:
        assert _get(server.port, "/probe")[0] == 404  # this app has no route of its own for it
        assert _get(server.port, "/metrics")[:2] == (200, b"up 1\n")
    finally:
        server.stop()
        thread.join(10)

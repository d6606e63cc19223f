"""The hostile clients, against the exporter's HTTP server with short timeouts."""

import logging
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from flask import Flask, Response

from exporter.server import HTTPServer, ServerLimits
from simulator.siege import Kind, Siege, raise_open_files_limit

HOST = "127.0.0.1"
LIMITS = ServerLimits(read_header_timeout=0.5, idle_timeout=1.0, write_timeout=2.0)


@pytest.fixture
def port() -> Iterator[int]:
    app = Flask("siege-test", static_folder=None)

    @app.get("/-/healthy")
    def healthy() -> Response:
        return Response("OK\n", content_type="text/plain")

    server = HTTPServer(app, f"{HOST}:0", logging.getLogger("test"), LIMITS)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield server.port
    server.stop()
    thread.join(10)


def wait_all_closed(siege: Siege, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not siege.all_closed():
        assert time.monotonic() < deadline, siege.report()
        time.sleep(0.05)


def test_each_kind_is_closed_by_the_timeout_that_governs_it(port: int) -> None:
    with Siege(HOST, port, silent=20, keepalive=20, slowloris=10, byte_interval=0.1) as siege:
        time.sleep(0.2)
        assert all(report.open_now == report.opened for report in siege.report().values())
        assert requests.get(f"http://{HOST}:{port}/-/healthy", timeout=5).status_code == 200
        wait_all_closed(siege, 5)
        report = siege.report()
    assert {kind: r.opened for kind, r in report.items()} == {
        Kind.SILENT: 20,
        Kind.KEEPALIVE: 20,
        Kind.SLOWLORIS: 10,
    }
    # Silent and slowloris: the header timeout, from the accept. Keep-alive: the idle timeout.
    for kind in (Kind.SILENT, Kind.SLOWLORIS):
        assert all(0.4 <= t < 1.5 for t in report[kind].closed_after), report[kind]
    assert all(0.9 <= t < 2.5 for t in report[Kind.KEEPALIVE].closed_after), report[Kind.KEEPALIVE]
    assert "min/p50/max" in report[Kind.SILENT].close_summary()


def test_reopened_slowloris_stay_in_flight(port: int) -> None:
    with Siege(HOST, port, slowloris=5, byte_interval=0.1, reopen_slowloris=True) as siege:
        time.sleep(1.3)
        report = siege.report()[Kind.SLOWLORIS]
    assert report.closed >= 5
    assert report.open_now == 5
    assert report.failed_to_open == 0


def test_raise_open_files_limit_reaches_the_hard_limit() -> None:
    assert raise_open_files_limit() >= 1024

"""``--web.max-probes`` in the real exporter process: past the bound a ``/probe`` is a 503 at once,
while ``/metrics`` is still answered and the probes in flight finish."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

from tests.integration.harness import Exporter, parse_samples, wait_for

pytestmark = pytest.mark.integration

GUARD_SECONDS = 30.0  # only for a broken exporter: how long a held probe may wait


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_HoldingServer"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/held":
            self.server.arrived.set()
            self.server.release.wait(GUARD_SECONDS)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


class _HoldingServer(ThreadingHTTPServer):
    """``/held`` answers only once released; anything else at once."""

    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.arrived = threading.Event()
        self.release = threading.Event()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture
def target() -> Iterator[_HoldingServer]:
    server = _HoldingServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def exporter(target: _HoldingServer, tmp_path: Path) -> Iterator[Exporter]:
    probes = {
        "interval": "1h",
        "modules": {"patient": {"prober": "http", "timeout": f"{GUARD_SECONDS:g}s"}},
        "targets": [
            {"name": "held", "url": target.url("/held"), "module": "patient"},
            {"name": "quick", "url": target.url("/quick")},
        ],
    }
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"collectors": {"probes": probes}}))
    target.release.set()  # the collector's own first round (readiness waits for it) goes through
    running = Exporter(["--config", str(config), "--web.max-probes", "1"], tmp_path)
    try:
        running.wait_ready()
        # The next round is an hour away: from now on /held holds what /probe asks.
        target.arrived.clear()
        target.release.clear()
        yield running
    finally:
        target.release.set()
        running.stop()


def _probe(exporter: Exporter, name: str) -> requests.Response:
    return requests.get(f"{exporter.url}/probe", params={"target": name}, timeout=GUARD_SECONDS + 10)


def test_past_max_probes_a_probe_is_refused_and_metrics_answered(
    target: _HoldingServer, exporter: Exporter
) -> None:
    with ThreadPoolExecutor(1) as client:
        held = client.submit(_probe, exporter, "held")
        try:
            wait_for(target.arrived.is_set, GUARD_SECONDS, "the held probe to reach its target")
            refused = _probe(exporter, "quick")
            assert refused.status_code == 503
            assert refused.text == "probe limit reached (1 at once): try again later\n"
            assert exporter.scrape().status_code == 200
        finally:
            target.release.set()
        answered = held.result()
    assert answered.status_code == 200
    assert parse_samples(answered.text)[("probe_success", ())] == 1.0
    after = _probe(exporter, "quick")
    assert after.status_code == 200, "the slot was given back"

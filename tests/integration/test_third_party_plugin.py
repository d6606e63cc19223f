"""A plugin from outside the repository: built and installed with pip, found by its entry point.

The example plugin under docs/examples/plugin (the one docs/plugins.md walks through) is copied to
a temporary directory, installed with pip into a directory of its own, and put on the exporter's
``PYTHONPATH``. Nothing in ``exporter/`` names it: its config section, metrics, failure
classification, staleness and demo section all come through the plugin protocol.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.integration.harness import Exporter, select, wait_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "plugin"
HEALTHY = {"status": "healthy", "api_version": "62", "version": "0.14.1"}


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin built and installed by pip, as a user would install one."""
    base = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(EXAMPLE, base / "source")
    site = base / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--no-build-isolation",
         "--target", str(site), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (entry_points,) = site.glob("skyserve_exporter_api_health-*.dist-info/entry_points.txt")
    assert "api_health = skyserve_api_health:ApiHealthCollector" in entry_points.read_text()
    return site


class Upstream:
    """A loopback API server whose /api/health answer the test changes as it goes."""

    def __init__(self) -> None:
        self.status, self.body = 200, HEALTHY
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                data = json.dumps(upstream.body).encode()
                self.send_response(upstream.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    try:
        yield server
    finally:
        server.close()


def on_path(plugin_site: Path) -> dict[str, str]:
    """The exporter's environment with the plugin's directory in front of any PYTHONPATH."""
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(plugin_site), os.environ.get("PYTHONPATH")]))}


def start(plugin_site: Path, tmp_path: Path, *args: str) -> Exporter:
    exporter = Exporter(list(args), tmp_path, env=on_path(plugin_site))
    exporter.wait_ready()
    return exporter


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yml"
    path.write_text(text)
    return str(path)


def test_its_section_is_checked_like_a_built_in_one(plugin_site: Path, tmp_path: Path) -> None:
    env = on_path(plugin_site)
    good = write(tmp_path, "collectors:\n  api_health: {endpoint: http://127.0.0.1:1}\n")
    checked = Exporter(["--config", good, "--config.check"], tmp_path, env)
    assert checked.proc.wait(60) == 0, checked.log()
    assert "config OK: collectors api_health, pricing" in checked.log()
    bad = write(tmp_path, "collectors:\n  api_health: {endpiont: http://127.0.0.1:1}\n")
    refused = Exporter(["--config", bad, "--config.check"], tmp_path, env)
    assert refused.proc.wait(60) == 2
    log = refused.log()
    assert "collectors.api_health.endpiont: unknown key" in log
    assert "collectors.api_health.endpoint: Field required" in log


def test_its_metrics_failures_and_staleness(plugin_site: Path, tmp_path: Path, upstream: Upstream) -> None:
    section = f"{{endpoint: {upstream.url}, interval: 1s, stale_after: 4s}}"
    config = f"collectors:\n  api_health: {section}\n"
    exporter = start(plugin_site, tmp_path, "--config", write(tmp_path, config))
    try:
        samples = exporter.samples()
        assert select(samples, "skyserve_api_server_healthy") == {(): 1.0}
        assert select(samples, "skyserve_api_server_version_info") == {(("version", "0.14.1"),): 1.0}
        assert select(samples, "skyserve_exporter_collector_up", collector="api_health") == {
            (("collector", "api_health"),): 1.0
        }

        upstream.status, upstream.body = 401, {"detail": "Unauthorized"}

        def auth_failure_counted() -> bool:
            errors = select(exporter.samples(), "skyserve_exporter_collector_errors_total", reason="auth")
            return any(dict(labels)["collector"] == "api_health" and v >= 1 for labels, v in errors.items())

        wait_for(auth_failure_counted, 10, "the 401 counted as an auth failure")
        samples = exporter.samples()
        assert select(samples, "skyserve_exporter_collector_up", collector="api_health") == {
            (("collector", "api_health"),): 0.0
        }
        assert select(samples, "skyserve_api_server_healthy") == {(): 1.0}, "last good data, not yet stale"
        wait_for(
            lambda: not select(exporter.samples(), "skyserve_api_server_healthy"),
            15,
            "the plugin's series to go once older than stale_after",
        )
        stale = select(exporter.samples(), "skyserve_exporter_collector_data_stale", collector="api_health")
        assert list(stale.values()) == [1.0]

        upstream.status, upstream.body = 200, {**HEALTHY, "status": "degraded"}
        wait_for(
            lambda: select(exporter.samples(), "skyserve_api_server_healthy") == {(): 0.0},
            10,
            "fresh data after the upstream recovers",
        )
    finally:
        exporter.stop()


def test_its_demo_section_points_it_at_the_simulator(plugin_site: Path, tmp_path: Path) -> None:
    exporter = start(plugin_site, tmp_path, "--demo", "--demo.services", "1", "--demo.replicas", "1")
    try:
        samples = exporter.samples()
        assert select(samples, "skyserve_exporter_collector_up", collector="api_health") == {
            (("collector", "api_health"),): 1.0
        }
        assert select(samples, "skyserve_api_server_healthy") == {(): 1.0}
    finally:
        exporter.stop()

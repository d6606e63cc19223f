"""The container's healthcheck against every kind of web config: a live exporter answers, a dead one not."""

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from exporter.healthcheck import answers
from exporter.server import HTTPServer
from exporter.webconfig import WebConfigWatcher

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples" / "web"
LOG = logging.getLogger("test")


def _app() -> Flask:
    app = Flask("t", static_folder=None)
    app.add_url_rule("/-/healthy", "healthy", lambda: "OK\n")
    return app


def _serve(web_config: Path | None) -> Iterator[int]:
    web = WebConfigWatcher(web_config, LOG) if web_config is not None else None
    server = HTTPServer(_app(), "127.0.0.1:0", LOG, web=web)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.02)
    yield server.port
    server.stop()
    thread.join(10)


@pytest.mark.parametrize(
    "web_config",
    [
        None,
        "web-config-basic-auth.yml",
        "web-config-tls.yml",
        "web-config-tls-basic-auth.yml",
        "web-config-mtls.yml",
    ],
)
def test_a_live_exporter_is_healthy_whatever_its_web_config(web_config: str | None) -> None:
    for port in _serve(EXAMPLES / web_config if web_config else None):
        assert answers(port)


def test_a_closed_port_is_not_healthy() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert not answers(port)

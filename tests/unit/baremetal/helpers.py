"""Shared helpers for the bare-metal tests: real loopback servers as nodes, inventories, rendering."""

import logging
import socket
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import yaml
from prometheus_client.core import Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from exporter.collector import CollectorContext

HOST = "127.0.0.1"
MAX_HANG_SECONDS = 5.0  # a "slow" node never holds a test longer than this


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class NodeServer:
    """A loopback HTTP server standing in for a node: answers ``status`` after ``delay`` seconds."""

    def __init__(
        self, status: int = 200, delay: float = 0.0, headers: Mapping[str, str] | None = None
    ) -> None:
        self.status = status
        self.delay = delay
        self.headers = dict(headers or {})
        self.paths: list[str] = []
        self._released = threading.Event()
        self._server: BaseWSGIServer = make_server(HOST, 0, self._app, threaded=True, request_handler=_Quiet)
        self._server.block_on_close = False  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def url(self, path: str = "/health") -> str:
        return f"http://{HOST}:{self.port}{path}"

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.paths.append(Request(environ).path)
        if self.delay:
            self._released.wait(min(self.delay, MAX_HANG_SECONDS))
        response = Response("answer\n", status=self.status, headers=self.headers, mimetype="text/plain")
        return response(environ, start_response)

    def __enter__(self) -> "NodeServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def hanging_listener(backlog: int = 256) -> Iterator[int]:
    """A port whose connections are accepted by the kernel but never answered: a hung service."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen(backlog)
        yield int(sock.getsockname()[1])


def refused_port() -> int:
    """A loopback port with nothing listening (free a moment ago)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def node(name: str, **keys: Any) -> dict[str, Any]:
    """An inventory node entry with the required keys filled in."""
    return {"name": name, "address": HOST, "provider": "hetzner", "region": "fsn1", **keys}


def write_inventory(path: Path, nodes: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"nodes": nodes}, sort_keys=False), encoding="utf-8")
    return path


def context(logger: logging.Logger | None = None) -> CollectorContext:
    return CollectorContext(
        session_factory=requests.Session,
        clock=lambda: 1_795_830_000.0,
        logger=logger or logging.getLogger("test.baremetal"),
        environ={},
    )


class _Families:
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> list[Metric]:
        return self._families


def render(families: Iterable[Metric]) -> str:
    return generate_latest(_Families(families)).decode()


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    """The one sample of ``name`` whose labels include ``labels``; None when there is none."""
    matches = [v for (n, lbls), v in found.items() if n == name and set(labels.items()) <= lbls]
    assert len(matches) <= 1, f"{name}{labels} matches {len(matches)} samples"
    return matches[0] if matches else None


def labels_of(found: Samples, name: str, **labels: str) -> dict[str, str]:
    matches = [dict(lbls) for (n, lbls) in found if n == name and set(labels.items()) <= lbls]
    assert len(matches) == 1, f"{name}{labels} matches {len(matches)} samples"
    return matches[0]

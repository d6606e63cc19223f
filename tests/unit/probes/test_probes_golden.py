"""Golden exposition of the probes collector: one round of real HTTP and TCP probes on loopback.

The loopback servers (``servers.py``) answer each path the same way every time, so everything in
the exposition is fixed except how long the probes took. Those timings, and only those, are
normalised before the comparison: the value of every ``*_duration_seconds`` sample is checked to
be a finite number >= 0 and then written as ``<seconds>``. Names, labels, HELP and TYPE lines,
sample order and every other value are compared byte for byte with ``golden/probes.prom``.

Static targets are labelled by their configured names, so their URLs may carry the servers'
random ports. Discovered endpoints are labelled by their URLs, so they use fixed host names and
ports that the test's resolver maps to the loopback servers; nothing else about probing is faked.

When a change to the exposition is intended, regenerate the file with::

    UPDATE_GOLDEN=1 PYTHONPATH=$PWD python -m pytest tests/unit/probes/test_probes_golden.py

and review the diff before committing it.
"""

import logging
import math
import socket
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from collectors.probes.collector import ProbesCollector
from collectors.probes.network import Dialer
from exporter.collector import CollectorContext, Endpoint
from tests.unit.golden import assert_golden, exposition
from tests.unit.probes.servers import Certificates, LoopbackServer

GOLDEN = Path(__file__).parent / "golden" / "probes.prom"
NOW = 1_795_830_000.0
TIMING_SUFFIX = "_duration_seconds"
TIMING_PLACEHOLDER = "<seconds>"

# Discovered endpoints as the other collectors would report them. The service endpoint carries
# credentials, as SkyServe's may: its target label must show them redacted.
SERVICE = Endpoint("http://user:secret@llama.example.test:30001", "service", "llama")
REPLICA_UP = Endpoint("http://10.0.0.1:8080", "replica", "llama", "1")
REPLICA_DOWN = Endpoint("http://10.0.0.2:8080", "replica", "llama", "2")
NODE = Endpoint("http://gpu-box-1.example.test:9100/healthy", "node")


@pytest.fixture(scope="module")
def servers(certificates: Certificates) -> Iterator[tuple[LoopbackServer, LoopbackServer]]:
    with LoopbackServer() as plain, LoopbackServer(certificates.server_context()) as tls:
        yield plain, tls


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, so no one else takes it, but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def _resolving(addresses: Mapping[tuple[str, int], int]) -> Callable[..., Any]:
    """Dialer.resolve with ``(host, port)`` in ``addresses`` answered by that loopback port."""
    real = Dialer.resolve

    def resolve(dialer: Dialer, host: str, port: int) -> tuple[socket.AddressFamily, Any]:
        if (host, port) in addresses:
            return socket.AF_INET, ("127.0.0.1", addresses[(host, port)])
        return real(dialer, host, port)

    return resolve


def _config(
    plain: LoopbackServer, tls: LoopbackServer, certificates: Certificates, refused: int
) -> dict[str, Any]:
    trusted = {"ca_file": str(certificates.ca_file)}
    return {
        "discover": {"services": True, "replicas": True, "nodes": True, "module": "discovered"},
        "modules": {
            "discovered": {"path": "/healthy"},
            "body_ok": {"fail_if_body_not_matches_regexp": ["status: ok"]},
            "https": {"tls_config": trusted},
            "tcp": {"prober": "tcp"},
            "tcp_tls": {"prober": "tcp", "tls": True, "tls_config": trusted},
        },
        "targets": [
            {"name": "web-ok", "url": plain.url("/ok")},
            {"name": "web-redirect", "url": plain.url("/redirect")},
            {"name": "web-error", "url": plain.url("/error"), "service_name": "llama"},
            {"name": "web-degraded", "url": plain.url("/degraded"), "module": "body_ok"},
            {"name": "public-api", "url": tls.url("/ok"), "module": "https", "service_name": "llama"},
            {"name": "db", "url": f"127.0.0.1:{plain.port}", "module": "tcp"},
            {"name": "db-tls", "url": f"127.0.0.1:{tls.port}", "module": "tcp_tls"},
            {"name": "db-down", "url": f"127.0.0.1:{refused}", "module": "tcp"},
        ],
    }


def normalise_timings(text: str) -> str:
    """``text`` with each ``*_duration_seconds`` sample's value replaced by the placeholder."""
    lines = []
    for line in text.splitlines(keepends=True):
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if line.startswith("#") or not name.endswith(TIMING_SUFFIX):
            lines.append(line)
            continue
        series, _, value = line.rstrip("\n").rpartition(" ")
        seconds = float(value)
        assert math.isfinite(seconds) and seconds >= 0, line
        lines.append(f"{series} {TIMING_PLACEHOLDER}\n")
    return "".join(lines)


def test_normalising_replaces_only_timing_values() -> None:
    text = (
        "# HELP skyserve_probe_duration_seconds How long.\n"
        'skyserve_probe_duration_seconds{target="a b"} 0.0123\n'
        'skyserve_probe_success{target="a"} 1.0\n'
        'skyserve_probe_http_duration_seconds{phase="tls"} 0.0\n'
    )
    assert normalise_timings(text) == (
        "# HELP skyserve_probe_duration_seconds How long.\n"
        f'skyserve_probe_duration_seconds{{target="a b"}} {TIMING_PLACEHOLDER}\n'
        'skyserve_probe_success{target="a"} 1.0\n'
        f'skyserve_probe_http_duration_seconds{{phase="tls"}} {TIMING_PLACEHOLDER}\n'
    )
    with pytest.raises(AssertionError):
        normalise_timings('skyserve_probe_duration_seconds{target="a"} -1.0\n')


def test_exposition_matches_the_golden_file(
    servers: tuple[LoopbackServer, LoopbackServer],
    certificates: Certificates,
    refused_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain, tls = servers
    addresses = {
        ("llama.example.test", 30001): plain.port,
        ("10.0.0.1", 8080): plain.port,
        ("10.0.0.2", 8080): refused_port,
        ("gpu-box-1.example.test", 9100): plain.port,
    }
    monkeypatch.setattr(Dialer, "resolve", _resolving(addresses))
    endpoints = (SERVICE, REPLICA_UP, REPLICA_DOWN, NODE)
    context = CollectorContext(
        requests.Session, lambda: NOW, logging.getLogger("test.probes"), {}, discovered=lambda: endpoints
    )
    collector = ProbesCollector.from_config(_config(plain, tls, certificates, refused_port), context)
    build = collector.build(collector.fetch(), NOW)
    assert_golden(normalise_timings(exposition(build.families)), GOLDEN)

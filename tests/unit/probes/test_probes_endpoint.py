"""/probe: blackbox's format for known targets; everything else refused before any network I/O.

And what a round probes: discovered endpoints by kind, static targets, each series once.
"""

import socket
import time
from collections.abc import Iterator
from types import MappingProxyType

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from collectors.probes.config import DiscoverConfig, ModuleConfig, StaticTarget
from collectors.probes.endpoint import ProbeEndpoint, TargetBook, probe_timeout
from collectors.probes.metrics import blackbox_exposition, blackbox_families
from collectors.probes.modules import compile_module
from collectors.probes.targets import PHASES, ProbeResult, ProbeTarget
from exporter.app import create_app
from exporter.collector import Endpoint
from exporter.series import Format, encode_families
from exporter.snapshot import SnapshotStore
from tests.unit.probes.fakes import RecordingProber, fake_modules
from tests.unit.probes.servers import SLOW_SECONDS, LoopbackServer


def client_for(endpoint: ProbeEndpoint | None) -> FlaskClient:
    clock = time.time
    routes = {"/probe": endpoint.serve} if endpoint is not None else {}
    return create_app(SnapshotStore({}), clock, routes=lambda: routes).test_client()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port nobody should connect to: a refused target must not cause even a connect."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sock.settimeout(0.2)
        yield sock


@pytest.fixture
def known(listener: socket.socket) -> tuple[ProbeEndpoint, RecordingProber, str]:
    base = f"http://127.0.0.1:{listener.getsockname()[1] + 1}/services/llama"
    prober = RecordingProber()
    endpoints = (Endpoint(base, "service", "llama"), Endpoint(base + "-r1", "replica", "llama", "1"))
    static = (StaticTarget(name="public-api", url="https://api.example.com/health"),)
    book = TargetBook(DiscoverConfig(), static, fake_modules(prober), lambda: endpoints)
    return ProbeEndpoint(book, fake_modules(prober)), prober, base


def refused_variants(base: str, listening_port: int) -> list[str]:
    port = int(base.split(":")[2].split("/", maxsplit=1)[0])
    return [
        base.replace("127.0.0.1", "127.0.0.2"),  # host
        base.replace("127.0.0.1", "localhost"),  # same machine, other name: still another target
        base.replace(f":{port}", f":{listening_port}"),  # port
        base.replace("http://", "https://"),  # scheme
        base.replace("http://", "http://user@"),  # userinfo
        base.replace("http://", "http://user:pw@"),
        base.replace("http://", f"http://127.0.0.1:{listening_port}@"),  # userinfo that looks like a host
        base + "/../../admin",  # path
        base + "/health?next=http://evil",  # query
        base + "-r1",  # a replica endpoint, but replicas are not probed by default
        f"http://127.0.0.1:{listening_port}/",
        "public-api-2",
        "https://api.example.com/health",  # a static target's URL is not its name
        "gopher://127.0.0.1/",
        "file:///etc/passwd",
    ]


def test_ssrf_refusals_never_touch_the_network(
    known: tuple[ProbeEndpoint, RecordingProber, str], listener: socket.socket
) -> None:
    endpoint, prober, base = known
    client = client_for(endpoint)
    for target in refused_variants(base, listener.getsockname()[1]):
        response = client.get("/probe", query_string={"target": target})
        assert response.status_code == 400, target
        assert response.data == b"unknown target: only configured and discovered targets are probed\n"
    assert prober.calls == []
    with pytest.raises(TimeoutError):
        listener.accept()


def test_known_targets_are_probed(known: tuple[ProbeEndpoint, RecordingProber, str]) -> None:
    endpoint, prober, base = known
    client = client_for(endpoint)
    accepted = [
        base,
        base + "/",
        base.upper().replace("/SERVICES/LLAMA", "/services/llama"),
        base + "/health",
    ]
    for target in [*accepted, "public-api"]:
        assert client.get("/probe", query_string={"target": target}).status_code == 200, target
    assert [url for url, _ in prober.calls] == [base + "/health"] * 4 + ["https://api.example.com/health"]


def test_module_must_be_known_and_the_targets_own(known: tuple[ProbeEndpoint, RecordingProber, str]) -> None:
    endpoint, prober, base = known
    client = client_for(endpoint)
    unknown = client.get("/probe", query_string={"target": base, "module": "nope"})
    assert (unknown.status_code, unknown.data) == (400, b"Unknown module\n")
    other = client.get("/probe", query_string={"target": base, "module": "other"})
    assert other.status_code == 400 and b"not the module configured" in other.data
    assert client.get("/probe", query_string={"target": base, "module": "http_2xx"}).status_code == 200
    missing = client.get("/probe")
    assert (missing.status_code, missing.data) == (400, b"Target parameter is missing\n")
    assert len(prober.calls) == 1


def test_blackbox_format_without_target_labels(known: tuple[ProbeEndpoint, RecordingProber, str]) -> None:
    endpoint, _, base = known
    response = client_for(endpoint).get("/probe", query_string={"target": base})
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.data.decode())}
    assert set(families) == {
        "probe_success",
        "probe_duration_seconds",
        "probe_http_status_code",
        "probe_http_duration_seconds",
    }
    assert families["probe_success"].samples[0].value == 1
    assert families["probe_http_status_code"].samples[0].value == 200
    phases = [s.labels for s in families["probe_http_duration_seconds"].samples]
    assert phases == [{"phase": p} for p in ("resolve", "connect", "tls", "processing", "transfer")]
    assert all(
        not s.labels
        for name, f in families.items()
        if name != "probe_http_duration_seconds"
        for s in f.samples
    )


def test_scrape_timeout_header_caps_the_module_timeout(
    known: tuple[ProbeEndpoint, RecordingProber, str],
) -> None:
    endpoint, prober, base = known
    client = client_for(endpoint)
    client.get("/probe", query_string={"target": base}, headers={"X-Prometheus-Scrape-Timeout-Seconds": "2"})
    client.get("/probe", query_string={"target": base})
    assert [timeout for _, timeout in prober.calls] == [1.5, 5.0]
    bad = client.get(
        "/probe", query_string={"target": base}, headers={"X-Prometheus-Scrape-Timeout-Seconds": "x"}
    )
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("module", "header", "expected"),
    [
        (5.0, None, 5.0),  # no header: 120 s - 0.5 s caps nothing
        (5.0, "10", 5.0),
        (5.0, "3", 2.5),
        (5.0, "0.4", 5.0),  # nothing left after the offset: blackbox falls back to the module's
        (5.0, "0", 5.0),
        (200.0, None, 119.5),
    ],
)
def test_probe_timeout_is_blackbox_get_timeout(module: float, header: str | None, expected: float) -> None:
    assert probe_timeout(module, header) == expected


@pytest.mark.parametrize("header", ["nan", "inf", "-1", "soon"])
def test_probe_timeout_refuses_nonsense(header: str) -> None:
    with pytest.raises(ValueError):
        probe_timeout(5.0, header)


def test_a_failed_probe_is_still_http_200_and_stops_at_the_scrape_timeout() -> None:
    with LoopbackServer() as server:
        module = compile_module("http_2xx", ModuleConfig(), {})
        static = (StaticTarget(name="slow", url=server.url("/slow")),)
        book = TargetBook(DiscoverConfig(), static, {"http_2xx": module}, tuple)
        client = client_for(ProbeEndpoint(book, {"http_2xx": module}))
        started = time.monotonic()
        response = client.get(
            "/probe", query_string={"target": "slow"}, headers={"X-Prometheus-Scrape-Timeout-Seconds": "1.5"}
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert b"probe_success 0.0" in response.data and b"probe_http_status_code 0.0" in response.data
    assert elapsed < SLOW_SECONDS - 0.5


def test_no_probe_route_without_the_probes_collector() -> None:
    assert client_for(None).get("/probe", query_string={"target": "x"}).status_code == 404


def test_tcp_results_have_blackbox_tcp_families() -> None:
    result = ProbeResult("tcp", True, 0.01, cert_expiry=1_900_000_000.0)
    text = blackbox_exposition(result).decode()
    assert [f.name for f in text_string_to_metric_families(text)] == [
        "probe_duration_seconds",
        "probe_ssl_earliest_cert_expiry",
        "probe_success",
    ]
    assert "probe_ssl_earliest_cert_expiry 1.9e+09" in text


@pytest.mark.parametrize(
    "result",
    [
        ProbeResult("http", True, 0.1234567, 200, MappingProxyType(dict.fromkeys(PHASES, 0.0))),
        ProbeResult(
            "http",
            False,
            12345678.9,
            503,
            MappingProxyType({"resolve": 1e-7, "connect": 0.25, "processing": 3e-5}),
            1_900_000_000.5,
        ),
        ProbeResult("http", False, 0.0),  # no phase at all: each written as 0
        ProbeResult("tcp", False, 5.000001),
        ProbeResult("tcp", True, 1e-9, cert_expiry=0.0),
    ],
)
def test_the_exposition_is_what_prometheus_client_writes_for_the_families(result: ProbeResult) -> None:
    assert blackbox_exposition(result) == encode_families(Format.TEXT, blackbox_families(result))


# What a round probes: the target book.

SERVICE = Endpoint("http://10.0.0.1:30001", "service", "llama")
REPLICA = Endpoint("http://10.0.0.2:8080", "replica", "llama", "1")
NODE = Endpoint("http://10.0.0.5:8000/healthz", "node", "", "")
POD = Endpoint("http://10.0.0.9:80", "pod", "llama", "")
STATIC = StaticTarget(name="public-api", url="https://api.example.com/health", service_name="llama")


def book(endpoints: list[Endpoint], discover: DiscoverConfig | None = None) -> TargetBook:
    return TargetBook(
        discover or DiscoverConfig(), (STATIC,), fake_modules(RecordingProber()), lambda: tuple(endpoints)
    )


def test_defaults_probe_services_and_nodes_not_replicas() -> None:
    targets = book([SERVICE, REPLICA, NODE, POD]).targets()
    assert [t.labels for t in targets] == [
        ("public-api", "llama", "", "static"),
        ("http://10.0.0.1:30001/health", "llama", "", "service"),
        ("http://10.0.0.5:8000/healthz", "", "", "node"),  # a node's health URL is probed as is
    ]
    assert targets[0].url == "https://api.example.com/health"


def test_replicas_when_asked_and_nothing_when_all_is_off() -> None:
    everything = DiscoverConfig(replicas=True)
    assert [t.kind for t in book([SERVICE, REPLICA], everything).targets()] == [
        "static",
        "service",
        "replica",
    ]
    off = DiscoverConfig(services=False, nodes=False)
    assert [t.kind for t in book([SERVICE, REPLICA, NODE], off).targets()] == ["static"]


def test_the_discover_module_decides_the_path() -> None:
    targets = book([SERVICE], DiscoverConfig(module="other")).targets()
    assert targets[1] == ProbeTarget(
        "http://10.0.0.1:30001/other", "http://10.0.0.1:30001/other", "other", "service", "llama", ""
    )


def test_new_and_gone_endpoints_follow_discovery() -> None:
    endpoints = [SERVICE]
    targets = book(endpoints)
    assert len(targets.targets()) == 2
    endpoints.append(Endpoint("http://10.0.0.3:30001", "service", "qwen"))
    assert [t.service_name for t in targets.targets()] == ["llama", "llama", "qwen"]
    endpoints.clear()
    assert [t.kind for t in targets.targets()] == ["static"]


def test_credentials_never_reach_the_label() -> None:
    secret = Endpoint("http://user:hunter2@10.0.0.1:30001", "service", "llama")
    (_, target) = book([secret]).targets()
    assert target.label == "http://***@10.0.0.1:30001/health"
    assert target.url == "http://user:hunter2@10.0.0.1:30001/health"


def test_each_series_once() -> None:
    twice = [SERVICE, SERVICE, Endpoint("http://10.0.0.1:30001/", "service", "llama")]
    assert len(book(twice).targets()) == 2

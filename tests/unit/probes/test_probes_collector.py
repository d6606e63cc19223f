"""The probes collector: families per the declared table, discovery followed, bounded concurrency."""

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from collectors.probes.collector import ProbesCollector
from collectors.probes.config import DiscoverConfig, ProbesConfig
from collectors.probes.endpoint import TargetBook
from collectors.probes.metrics import PROBES_METRICS
from exporter.collector import Collector, CollectorContext, Endpoint, routes_of, waits_for_discoveries
from exporter.config import load_config
from exporter.registry import discover
from exporter.series import Format, SeriesStore
from tests.unit.probes.fakes import RecordingProber, fake_modules
from tests.unit.probes.servers import Certificates, LoopbackServer

LOG = logging.getLogger("test")


def context(endpoints: list[Endpoint]) -> CollectorContext:
    return CollectorContext(requests.Session, time.time, LOG, {}, discovered=lambda: tuple(endpoints))


def exposition(collector: ProbesCollector) -> str:
    build = collector.build(collector.fetch(), time.time())
    return SeriesStore().encode(build.families).exposition(Format.TEXT).decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    matches = [
        v
        for (n, ls), v in found.items()
        if n == name and all(dict(ls).get(k) == w for k, w in labels.items())
    ]
    assert len(matches) == 1, (name, labels, matches)
    return matches[0]


@pytest.fixture(scope="module")
def servers(certificates: Certificates) -> Iterator[tuple[LoopbackServer, LoopbackServer]]:
    with LoopbackServer() as plain, LoopbackServer(certificates.server_context()) as tls:
        yield plain, tls


def test_it_is_a_registered_collector() -> None:
    collector = ProbesCollector.from_config({}, context([]))
    assert isinstance(collector, Collector)
    # Each probe has its module's timeout; the framework bounds a whole round by the interval.
    assert (collector.name, collector.interval, collector.timeout) == ("probes", 15.0, 15.0)
    assert discover()["probes"] is ProbesCollector
    assert ProbesCollector.config_model is ProbesConfig


def test_runs_without_a_config_file_when_skyserve_does() -> None:
    loaded = load_config(None, discover(), {"SKYPILOT_API_SERVER_ENDPOINT": "http://127.0.0.1:1"})
    assert {e.factory.name for e in loaded.collectors} >= {"skyserve", "probes"}
    assert "probes" not in {e.factory.name for e in load_config(None, discover(), {}).collectors}


def test_families_follow_the_declared_table(
    servers: tuple[LoopbackServer, LoopbackServer], certificates: Certificates
) -> None:
    plain, tls = servers
    endpoints = [
        Endpoint(plain.url(""), "service", "llama"),
        Endpoint(plain.url("/ok"), "node"),
        Endpoint(plain.url(""), "replica", "llama", "1"),
    ]
    config = {
        "discover": {"replicas": True},
        "modules": {
            "tls": {"tls_config": {"ca_file": str(certificates.ca_file)}},
            "tcp": {"prober": "tcp"},
        },
        "targets": [
            {"name": "public-api", "url": tls.url("/ok"), "module": "tls", "service_name": "llama"},
            {"name": "db", "url": f"127.0.0.1:{plain.port}", "module": "tcp"},
        ],
    }
    text = exposition(ProbesCollector.from_config(config, context(endpoints)))
    families = list(text_string_to_metric_families(text))
    declared = {spec.name: spec for spec in PROBES_METRICS}
    assert [f.name for f in families] == list(declared)
    for family in families:
        assert "Refreshed every 15s." in family.documentation
        for sample in family.samples:
            assert sorted(sample.labels) == sorted(declared[family.name].labels)
    found = samples(text)
    service = {"target": plain.url("/health"), "kind": "service", "service_name": "llama", "replica_id": ""}
    assert value(found, "skyserve_probe_success", **service) == 0  # /health is not a route: 404
    assert value(found, "skyserve_probe_http_status_code", **service) == 404
    assert value(found, "skyserve_probe_success", kind="node") == 1
    assert value(found, "skyserve_probe_success", kind="replica", replica_id="1") == 0
    assert value(found, "skyserve_probe_success", target="public-api", kind="static") == 1
    expiry = "skyserve_probe_ssl_earliest_cert_expiry_timestamp_seconds"
    assert value(found, expiry, target="public-api") == certificates.expiry
    assert len([k for k in found if k[0] == expiry]) == 1  # only the TLS probe has one
    assert value(found, "skyserve_probe_success", target="db") == 1
    assert not [k for k in found if k[0] == "skyserve_probe_http_status_code" and ("target", "db") in k[1]]
    phases = [dict(k[1])["phase"] for k in found if k[0] == "skyserve_probe_http_duration_seconds"]
    assert len(phases) == 4 * 5


def test_the_build_summarizes_the_round_for_the_console(
    servers: tuple[LoopbackServer, LoopbackServer],
) -> None:
    plain, _ = servers
    endpoints = [Endpoint(plain.url(""), "service", "llama"), Endpoint(plain.url("/ok"), "node")]
    config = {"targets": [{"name": "gone", "url": "http://127.0.0.1:9/health", "service_name": "llama"}]}
    collector = ProbesCollector.from_config(config, context(endpoints))
    build = collector.build(collector.fetch(), time.time())
    checks = build.checks
    assert checks is not None
    assert (checks.total, checks.failed, checks.failing_not_listed) == (3, 2, 0)
    assert [(s.service_name, s.ok, s.total) for s in checks.by_service] == [("llama", 0, 2)]
    service, static = checks.failing  # service endpoints first
    assert (service.kind, service.target, service.status_code) == ("service", plain.url("/health"), 404)
    assert service.error and not service.ok and service.latency_seconds > 0
    assert (static.kind, static.target, static.status_code) == ("static", "gone", 0)
    assert "refused" in static.error
    found = samples(SeriesStore().encode(build.families).exposition(Format.TEXT).decode())
    failing = {dict(k[1])["target"] for k, v in found.items() if k[0] == "skyserve_probe_success" and v == 0}
    assert failing == {c.target for c in checks.failing}


def test_gone_endpoints_disappear_at_the_next_collection(
    servers: tuple[LoopbackServer, LoopbackServer],
) -> None:
    plain, _ = servers
    endpoints = [Endpoint(plain.url("/a"), "service", "a"), Endpoint(plain.url("/b"), "service", "b")]
    collector = ProbesCollector.from_config({}, context(endpoints))
    assert {dict(k[1])["service_name"] for k in samples(exposition(collector))} == {"a", "b"}
    endpoints.pop()
    assert {dict(k[1])["service_name"] for k in samples(exposition(collector))} == {"a"}


def test_a_round_runs_at_most_concurrency_probes_at_once() -> None:
    prober = RecordingProber(seconds=0.02)
    modules = fake_modules(prober)
    endpoints = tuple(
        Endpoint(f"http://10.0.{i // 250}.{i % 250}:80", "service", f"s{i}") for i in range(300)
    )
    book = TargetBook(DiscoverConfig(), (), modules, lambda: endpoints)
    collector = ProbesCollector(book, modules, interval=15.0, concurrency=16, logger=LOG)
    outcomes = collector.fetch()
    assert len(outcomes) == len(prober.calls) == 300
    assert prober.max_in_flight == 16
    assert [target.service_name for target, _ in outcomes] == [f"s{i}" for i in range(300)]


def test_bad_modules_fail_at_creation_with_the_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"modules\.m\.tls_config"):
        ProbesCollector.from_config(
            {"modules": {"m": {"tls_config": {"ca_file": str(tmp_path)}}}}, context([])
        )


def test_the_collector_offers_probe_as_a_route() -> None:
    collector = ProbesCollector.from_config({}, context([]))
    assert routes_of([collector]) == {"/probe": collector.endpoint.serve}
    assert routes_of([]) == {}


def test_with_discovery_on_the_first_round_waits_for_the_discovering_collectors() -> None:
    discovering = ProbesCollector.from_config({}, context([]))
    static_only = ProbesCollector.from_config(
        {
            "discover": {"services": False, "nodes": False},
            "targets": [{"name": "api", "url": "http://127.0.0.1:1/health"}],
        },
        context([]),
    )
    assert waits_for_discoveries(discovering)
    assert not waits_for_discoveries(static_only)

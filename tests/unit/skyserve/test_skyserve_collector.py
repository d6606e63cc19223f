import dataclasses
from typing import Any

import pytest
import requests
import responses
from prometheus_client.parser import text_string_to_metric_families

from collectors.skyserve.client import ServeStatusAnswer
from collectors.skyserve.collector import Polled, SkyServeCollector
from collectors.skyserve.config import SkyServeConfig
from collectors.skyserve.metrics import REPLICA_STATUSES, SERVICE_STATUSES, SKYSERVE_METRICS
from collectors.skyserve.wire import services_of
from exporter.collector import Collector, Endpoint, ServiceSummary
from exporter.config_errors import SectionError
from tests.unit.skyserve.helpers import ENDPOINT, context, load, recorded_services, render, samples, value

NOW = 1_795_830_000.0
UPSTREAM = {"version": "0.14.1", "api_version": "62"}


def _collector() -> SkyServeCollector:
    collector = SkyServeCollector.from_config({"endpoint": ENDPOINT}, context())
    assert isinstance(collector, SkyServeCollector)
    return collector


def _raw(services: list[Any] | None = None) -> Polled:
    chosen = tuple(recorded_services() if services is None else services)
    return Polled.decode(ServeStatusAnswer(services=chosen, upstream=UPSTREAM))


def _service(name: str, status: str = "READY", replicas: list[Any] | None = None) -> dict[str, Any]:
    return {"name": name, "status": status, "replica_info": replicas or []}


def _replica(replica_id: int, status: str, **extra: Any) -> dict[str, Any]:
    placed = {"cloud": "AWS", "region": "us-east-2", "infra": "AWS (us-east-2a)", "is_spot": True}
    return {"replica_id": replica_id, "status": status, **placed, **extra}


@pytest.fixture
def text() -> str:
    return render(_collector().build(_raw(), NOW).families)


def test_it_is_a_collector() -> None:
    collector = _collector()
    assert isinstance(collector, Collector)
    assert (collector.name, collector.interval, collector.timeout) == ("skyserve", 30.0, 20.0)
    assert SkyServeCollector.config_model is SkyServeConfig


def test_families_match_the_declared_table(text: str) -> None:
    declared = {spec.name: spec for spec in SKYSERVE_METRICS}
    families = list(text_string_to_metric_families(text))
    assert len(families) == len(declared)
    for family in families:
        spec = declared[family.name if family.type == "gauge" else family.name + "_total"]
        assert family.type == spec.type
        assert "Refreshed every 30s." in family.documentation
        for sample in family.samples:
            assert set(sample.labels) == set(spec.labels), sample


def test_labels_follow_the_conventions() -> None:
    for spec in SKYSERVE_METRICS:
        assert spec.name.startswith("skyserve_") and not spec.name.startswith("skyserve_exporter_")
        assert not {"instance", "job", "service"} & set(spec.labels)
        if "cost" in spec.name:
            assert spec.name.endswith(("_dollars", "_dollars_total"))
        if spec.type == "counter":
            assert spec.name.endswith("_total")


def test_secrets_and_pickles_never_reach_the_exposition(text: str) -> None:
    assert "TOPSECRET" not in text
    assert "yaml" not in text
    assert "gASV" not in text


def test_service_status_is_one_hot_over_every_status(text: str) -> None:
    parsed = samples(text)
    for status in SERVICE_STATUSES:
        expected = 1.0 if status == "READY" else 0.0
        assert value(parsed, "skyserve_service_status", service_name="llama-svc", status=status) == expected
    statuses = {dict(labels)["status"] for name, labels in parsed if name == "skyserve_service_status"}
    assert statuses == set(SERVICE_STATUSES)


def test_unknown_service_status_is_exported_as_itself() -> None:
    build = _collector().build(_raw([_service("svc", "HIBERNATING")]), NOW)
    parsed = samples(render(build.families))
    assert value(parsed, "skyserve_service_status", service_name="svc", status="HIBERNATING") == 1
    assert value(parsed, "skyserve_service_status", service_name="svc", status="READY") == 0
    assert build.services[0].status == "HIBERNATING"


def test_replica_counts_cover_every_status_and_unknown_ones(text: str) -> None:
    parsed = samples(text)
    mistral = {
        dict(labels)["status"]: sample
        for (name, labels), sample in parsed.items()
        if name == "skyserve_service_replicas" and dict(labels)["service_name"] == "mistral-svc"
    }
    assert set(mistral) == {*REPLICA_STATUSES, "DRAINING"}
    assert (mistral["STARTING"], mistral["FAILED_PROBING"], mistral["DRAINING"], mistral["READY"]) == (
        1,
        1,
        1,
        0,
    )
    assert value(parsed, "skyserve_service_replicas", service_name="llama-svc", status="READY") == 2
    assert value(parsed, "skyserve_service_replicas", service_name="embed-svc", status="READY") == 0


def test_service_gauges(text: str) -> None:
    parsed = samples(text)
    info = dict(service_name="mistral-svc", endpoint="https://mistral.example.com:30002",
                load_balancing_policy="round_robin", tls="true")  # fmt: skip
    assert value(parsed, "skyserve_service_info", **info) == 1
    assert value(parsed, "skyserve_service_target_replicas", service_name="mistral-svc") == 2
    assert value(parsed, "skyserve_service_version", service_name="llama-svc") == 2
    assert (
        value(parsed, "skyserve_service_ready_since_timestamp_seconds", service_name="llama-svc")
        == 1795820809
    )
    # Unknown target and not-yet-ready services have no series rather than a made-up value.
    assert ("skyserve_service_target_replicas", frozenset({("service_name", "llama-svc")})) not in parsed
    names = {name for name, labels in parsed if dict(labels).get("service_name") == "embed-svc"}
    assert "skyserve_service_ready_since_timestamp_seconds" not in names


def _replica_info(parsed: dict[Any, float], service: str, replica_id: str) -> dict[str, str]:
    for name, labels in parsed:
        label_map = dict(labels)
        if name == "skyserve_replica_info" and (label_map["service_name"], label_map["replica_id"]) == (
            service,
            replica_id,
        ):
            return label_map
    raise AssertionError(f"no skyserve_replica_info for {service}/{replica_id}")


@pytest.mark.parametrize(
    ("service", "replica_id", "expected"),
    [
        ("llama-svc", "1", dict(version="2", cloud="aws", region="us-east-2", zone="us-east-2a",
                                instance_type="g6.xlarge", accelerator="L4", spot="true")),
        ("llama-svc", "2", dict(version="2", cloud="aws", region="us-west-2", zone="us-west-2b",
                                instance_type="p4d.24xlarge", accelerator="A100", spot="false")),
        ("llama-svc", "3", dict(version="2", cloud="kubernetes",
                                region="gke_ml-prod_us-central1_gpu-pool-cluster",
                                zone="", instance_type="", accelerator="L4", spot="false")),
        ("llama-svc", "4", dict(version="2", cloud="", region="", zone="", instance_type="", accelerator="",
                                spot="true")),
        ("mistral-svc", "1", dict(version="1", cloud="gcp", region="us-central1", zone="us-central1-a",
                                  instance_type="g2-standard-8", accelerator="L4", spot="false")),
        ("mistral-svc", "2", dict(version="1", cloud="azure", region="eastus", zone="",
                                  instance_type="Standard_NV36ads_A10_v5", accelerator="A10", spot="true")),
        ("mistral-svc", "5", dict(version="1", cloud="ssh", region="ssh-my-gpu-pool", zone="",
                                  instance_type="192CPU--2048GB--8H100", accelerator="H100", spot="false")),
    ],
)  # fmt: skip
def test_replica_info(text: str, service: str, replica_id: str, expected: dict[str, str]) -> None:
    labels = _replica_info(samples(text), service, replica_id)
    ids = {"service_name": service, "replica_id": replica_id, "source": "skyserve"}
    assert labels == {**ids, **expected, "kind": "service"}


def test_replica_gauges(text: str) -> None:
    parsed = samples(text)
    ids = dict(service_name="llama-svc", replica_id="2", source="skyserve")
    assert value(parsed, "skyserve_replica_status", **ids, status="READY") == 1
    assert value(parsed, "skyserve_replica_launched_timestamp_seconds", **ids) == 1795826300
    assert value(parsed, "skyserve_replica_nodes", **ids) == 2
    assert value(parsed, "skyserve_replica_accelerators", **ids, accelerator="A100") == 16
    statuses = [labels for name, labels in parsed if name == "skyserve_replica_status"]
    assert len(statuses) == 7  # one series per replica: its current status only
    pending = dict(service_name="llama-svc", replica_id="4", source="skyserve")
    pending_names = {name for name, labels in parsed if dict(labels).items() >= pending.items()}
    assert pending_names == {"skyserve_replica_info", "skyserve_replica_status"}


def test_replicas_by_cloud(text: str) -> None:
    parsed = samples(text)
    by_cloud = {
        (dict(labels)["cloud"], dict(labels)["region"], dict(labels)["spot"]): count
        for (name, labels), count in parsed.items()
        if name == "skyserve_replicas_by_cloud" and dict(labels)["service_name"] == "llama-svc"
    }
    assert by_cloud == {
        ("aws", "us-east-2", "true"): 1,
        ("aws", "us-west-2", "false"): 1,
        ("kubernetes", "gke_ml-prod_us-central1_gpu-pool-cluster", "false"): 1,
        ("", "", "true"): 1,
    }


def test_transition_counters_across_builds() -> None:
    collector = _collector()
    first = samples(
        render(collector.build(_raw([_service("svc", replicas=[_replica(1, "READY")])]), NOW).families)
    )
    labels = dict(service_name="svc", source="skyserve", cloud="aws", region="us-east-2")
    assert value(first, "skyserve_replica_preemptions_total", **labels) == 0
    assert value(first, "skyserve_replica_failures_total", **labels) == 0
    preempted = _raw([_service("svc", replicas=[_replica(1, "PREEMPTED"), _replica(2, "FAILED_PROVISION")])])
    collector.build(preempted, NOW + 30)
    third = samples(render(collector.build(preempted, NOW + 60).families))
    assert value(third, "skyserve_replica_preemptions_total", **labels) == 1
    assert value(third, "skyserve_replica_failures_total", **labels) == 1


def test_build_summary_fields() -> None:
    build = _collector().build(_raw(), NOW)
    assert build.skipped == {"invalid_service": 1, "invalid_replica": 2}
    assert build.upstream == UPSTREAM
    assert [s.name for s in build.services] == ["llama-svc", "mistral-svc", "embed-svc"]
    assert build.services[0] == ServiceSummary(
        name="llama-svc",
        source="skyserve",
        status="READY",
        ready_replicas=2,
        total_replicas=4,
        clouds=("aws", "kubernetes"),
        replicas_by_status={"READY": 2, "PROVISIONING": 1, "PENDING": 1},
        unpriced={"no_price_book": 3},  # this context offers no price book
    )
    assert build.services[1].target_replicas == 2
    assert build.services[2].clouds == ()


def test_endpoints_for_probes() -> None:
    build = _collector().build(_raw(), NOW)
    assert build.endpoints == (
        Endpoint("http://44.201.12.9:30001", "service", "llama-svc"),
        Endpoint("http://3.141.59.26:8080", "replica", "llama-svc", "1"),
        Endpoint("http://3.19.7.1:8080", "replica", "llama-svc", "2"),
        Endpoint("https://mistral.example.com:30002", "service", "mistral-svc"),
        Endpoint("http://34.70.1.2:8080", "replica", "mistral-svc", "1"),
        Endpoint("http://20.1.2.3:8080", "replica", "mistral-svc", "2"),
        Endpoint("http://10.0.0.5:8080", "replica", "mistral-svc", "5"),
    )


def test_bare_host_port_endpoints_get_a_scheme() -> None:
    raw = {
        **_service("svc", replicas=[_replica(1, "READY", endpoint="10.0.0.1:8080")]),
        "endpoint": "1.2.3.4:30001",
    }
    tls = {**_service("tls"), "endpoint": "5.6.7.8:30001", "tls_encrypted": True}
    urls = [e.url for e in _collector().build(_raw([raw, tls]), NOW).endpoints]
    assert urls == ["http://1.2.3.4:30001", "http://10.0.0.1:8080", "https://5.6.7.8:30001"]


def test_empty_fleet_still_declares_every_family() -> None:
    build = _collector().build(Polled.decode(ServeStatusAnswer(services=(), upstream={})), NOW)
    assert [family.name for family in build.families] == [
        spec.name.removesuffix("_total") for spec in SKYSERVE_METRICS
    ]
    assert all(not family.samples for family in build.families)
    assert (build.services, build.endpoints, build.upstream, build.skipped) == ((), (), None, {})


def test_from_config_resolves_the_environment() -> None:
    environ = {"SKYPILOT_API_SERVER_ENDPOINT": "http://env-host:46580"}
    collector = SkyServeCollector.from_config(SkyServeConfig(interval=60.0), context(environ))
    assert (collector.interval, collector.timeout) == (60.0, 20.0)
    with pytest.raises(SectionError, match=r"^endpoint: no SkyPilot API server endpoint"):
        SkyServeCollector.from_config({}, context())


def test_default_config_follows_the_environment() -> None:
    assert SkyServeCollector.default_config({"SKYPILOT_API_SERVER_ENDPOINT": "http://h:1"}) == {}
    assert SkyServeCollector.default_config({}) is None
    assert SkyServeCollector.default_config({"SKYPILOT_API_SERVER_ENDPOINT": " "}) is None


def test_fetch_then_build_over_http() -> None:
    collector = _collector()
    with responses.RequestsMock() as mock:
        mock.get(f"{ENDPOINT}/api/health", json=load("api_health.json"))
        mock.post(f"{ENDPOINT}/serve/status", headers={"X-Skypilot-Request-ID": "abc"})
        mock.get(f"{ENDPOINT}/api/get", json=load("api_get_serve_status.json"))
        raw = collector.fetch()
    build = collector.build(raw, NOW)
    assert [s.name for s in build.services] == ["llama-svc", "mistral-svc", "embed-svc"]
    assert build.upstream == UPSTREAM


def test_requests_go_through_the_session_from_the_context() -> None:
    made: list[requests.Session] = []

    def factory() -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = "skyserve-exporter/test"
        made.append(session)
        return session

    base = context()
    ctx = type(base)(session_factory=factory, clock=base.clock, logger=base.logger, environ={})
    collector = SkyServeCollector.from_config({"endpoint": ENDPOINT, "timeout": "5s"}, ctx)
    with responses.RequestsMock() as mock:
        mock.get(f"{ENDPOINT}/api/health", json=load("api_health.json"))
        mock.post(f"{ENDPOINT}/serve/status", headers={"X-Skypilot-Request-ID": "abc"})
        mock.get(f"{ENDPOINT}/api/get", json=load("api_get_serve_status.json"))
        collector.fetch()
        agents = {call.request.headers["User-Agent"] for call in mock.calls}
        timeouts = {call.request.req_kwargs["timeout"] for call in mock.calls}  # type: ignore[attr-defined]
    assert len(made) == 1 and agents == {"skyserve-exporter/test"}
    assert max(timeouts) <= 5.0


def test_no_endpoints_are_made_when_nobody_probes_them() -> None:
    wanted = [False]
    made = SkyServeCollector.from_config(
        {"endpoint": ENDPOINT}, dataclasses.replace(context(), endpoints_wanted=lambda: wanted[0])
    )
    raw = Polled.decode(ServeStatusAnswer(services=tuple(services_of(recorded_services())), upstream={}))
    assert made.build(raw, NOW).endpoints == ()
    wanted[0] = True  # asked at each build: a reload that adds the probes needs no rebuild
    assert len(made.build(raw, NOW).endpoints) > len(raw.fleet.services)

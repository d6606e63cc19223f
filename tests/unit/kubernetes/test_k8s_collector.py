"""The collector end to end: the simulator's API through the real client, into families and a Build."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from collectors.kubernetes.collector import KubernetesCollector
from collectors.kubernetes.config import KubernetesConfig
from collectors.kubernetes.metrics import KUBERNETES_METRICS, REPLICA_STATUSES
from collectors.pricing import PriceBook
from collectors.skyserve.metrics import SKYSERVE_METRICS
from exporter.collector import Build, Collector
from exporter.errors import ErrorKind
from exporter.runner import run_once
from exporter.series import Format, SeriesStore
from simulator import Simulator
from tests.unit.kubernetes.fixtures import (
    collector,
    gke_node,
    pod,
    pod_list,
    render,
    samples,
    write_kubeconfig,
)

NOW = 1_795_830_000.0


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(
        services=1, replicas_per_service=1, kubernetes_pods=600, kubernetes_nodes=120, kubernetes_clusters=4
    ) as running:
        yield running


def _section(sim: Simulator, **extra: object) -> dict[str, object]:
    assert sim.kubernetes is not None
    return {
        "kubeconfig": str(sim.kubernetes.kubeconfig),
        "contexts": list(sim.kubernetes.fleet.contexts),
        "page_size": 50,
        **extra,
    }


@pytest.fixture(scope="module")
def build(sim: Simulator, book: PriceBook) -> Build:
    kube = collector(_section(sim), book)
    return kube.build(kube.fetch(), NOW)


def test_it_is_a_collector(sim: Simulator) -> None:
    kube = collector(_section(sim, interval="15s"))
    assert isinstance(kube, Collector)
    # An unset timeout shrinks to fit the interval.
    assert (kube.name, kube.interval, kube.timeout) == ("kubernetes", 15.0, 15.0)
    assert KubernetesCollector.config_model is KubernetesConfig


def test_families_match_the_declared_table(build: Build) -> None:
    declared = {spec.name: spec for spec in KUBERNETES_METRICS}
    families = list(text_string_to_metric_families(render(build.families)))

    # The text parser names a counter family without its ``_total``.
    def declared_name(family: Metric) -> str:
        return family.name + "_total" if family.type == "counter" else family.name

    assert {declared_name(f) for f in families} == set(declared)
    for family in families:
        spec = declared[declared_name(family)]
        assert family.type == spec.type and "Refreshed every 30s." in family.documentation
        assert family.samples, family.name
        for sample in family.samples:
            assert tuple(sample.labels) == spec.labels or set(sample.labels) == set(spec.labels)


def test_replica_families_are_skyserves_own(build: Build) -> None:
    """Same names, labels and help as SkyServe's, so the exposition joins them under one header."""
    for name in ("skyserve_replica_info", "skyserve_replica_status", "skyserve_replicas_by_cloud"):
        assert KUBERNETES_METRICS.by_name(name) == SKYSERVE_METRICS.by_name(name)
    for spec in KUBERNETES_METRICS:
        assert not {"instance", "job", "service", "namespace"} & set(spec.labels)


def _replica_count(build: Build) -> int:
    """Replicas as the landing page's service table counts them, apart from the families."""
    return sum(service.total_replicas for service in build.services)


def test_every_replica_has_one_status_and_source_kubernetes(sim: Simulator, build: Build) -> None:
    status = samples(build.families, "skyserve_replica_status")
    info = samples(build.families, "skyserve_replica_info")
    assert len(status) == len(info) == _replica_count(build) > 0
    assert {s["source"] for s in status + info} == {"kubernetes"}
    assert len({(s["service_name"], s["replica_id"]) for s in status}) == len(status)
    assert {s["status"] for s in status} <= set(REPLICA_STATUSES)
    assert "sky-llama-svc" not in {s["service_name"] for s in status}  # SkyPilot's pods are SkyServe's
    assert build.skipped == {}


def test_service_counts_cover_every_status(build: Build) -> None:
    counts = samples(build.families, "skyserve_kubernetes_service_replicas")
    services = {s["service_name"] for s in counts}
    assert len(counts) == len(services) * len(REPLICA_STATUSES)
    assert sum(s["value"] for s in counts) == _replica_count(build)
    by_cloud = samples(build.families, "skyserve_replicas_by_cloud")
    assert sum(s["value"] for s in by_cloud) == _replica_count(build)
    assert {"gcp", "aws", "azure", "kubernetes"} <= {s["cloud"] for s in by_cloud}


def test_placement_reaches_replica_info(build: Build) -> None:
    info = samples(build.families, "skyserve_replica_info")
    gcp = [s for s in info if s["cloud"] == "gcp"]
    assert gcp and {s["region"] for s in gcp} == {"us-central1"}
    assert {s["instance_type"] for s in gcp} <= {"a2-highgpu-8g", "g2-standard-8", "n2-standard-8"}
    spot = {s["instance_type"] for s in info if s["spot"] == "true"}
    assert spot and spot <= {"g2-standard-8", "g6.xlarge", "Standard_NC24ads_A100_v4"}
    owned = [s for s in info if s["cloud"] == "kubernetes"]
    assert owned and {s["region"] for s in owned} == {"onprem-gpu"}
    unscheduled = [s for s in info if not s["cloud"]]
    assert all(s["region"] == s["instance_type"] == "" for s in unscheduled)


def test_costs_add_up_to_at_most_the_nodes(build: Build) -> None:
    replicas = samples(build.families, "skyserve_replica_hourly_cost_dollars")
    nodes = samples(build.families, "skyserve_node_hourly_cost_dollars")
    assert replicas and nodes
    assert {s["price_source"] for s in replicas} == {"catalog"}
    assert 0 < sum(s["value"] for s in replicas) <= sum(s["value"] for s in nodes) + 1e-6
    node_info = samples(build.families, "skyserve_node_info")
    assert {s["node"] for s in nodes} <= {s["node"] for s in node_info}
    priced_or_not = len(replicas) + sum(
        s["value"] for s in samples(build.families, "skyserve_unpriced_replicas")
    )
    status = samples(build.families, "skyserve_replica_status")
    pod_info = samples(build.families, "skyserve_kubernetes_pod_info")
    assert priced_or_not <= len(status) and len(pod_info) == len(status)


def test_landing_page_summaries(build: Build) -> None:
    by_name = {s.name: s for s in build.services}
    assert "vllm-llama3-8b" in by_name
    summary = by_name["vllm-llama3-8b"]
    assert summary.source == "kubernetes" and summary.status == "READY"
    assert 0 < summary.ready_replicas <= summary.total_replicas
    assert summary.replicas_by_status["READY"] == summary.ready_replicas
    assert sum(summary.replicas_by_status.values()) == summary.total_replicas


def test_the_summaries_add_up_to_the_cost_samples(build: Build) -> None:
    """The console shows the summaries: their cost is the cost samples', by service, cloud and spot."""
    hourly: dict[tuple[str, str, bool], float] = {}
    for sample in samples(build.families, "skyserve_replica_hourly_cost_dollars"):
        key = (sample["service_name"], sample["cloud"], sample["spot"] == "true")
        hourly[key] = hourly.get(key, 0.0) + sample["value"]
    summarized = {(s.name, p.cloud, p.spot): p.hourly_cost for s in build.services for p in s.costs}
    assert summarized.keys() == hourly.keys() and summarized == pytest.approx(hourly)
    unpriced = {
        (sample["service_name"], sample["reason"]): sample["value"]
        for sample in samples(build.families, "skyserve_unpriced_replicas")
    }
    assert {(s.name, reason): n for s in build.services for reason, n in s.unpriced.items()} == unpriced


def test_a_steady_cluster_is_not_encoded_again(sim: Simulator, book: PriceBook) -> None:
    kube = collector(_section(sim), book)
    raw = kube.fetch()
    series = SeriesStore()
    first = series.encode(kube.build(raw, NOW).families)
    second = series.encode(kube.build(raw, NOW).families)
    assert first.reused == 0 < first.samples
    assert second.reused == len(second.families)
    assert second.exposition(Format.TEXT) == first.exposition(Format.TEXT)


def test_run_once_classifies_an_unreachable_cluster(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", {"gone": "http://127.0.0.1:9"})
    kube = collector({"kubeconfig": str(path), "timeout": "2s"})
    snapshot = run_once(kube, lambda: NOW, __import__("logging").getLogger("test"))
    assert not snapshot.ok and snapshot.error_kind is ErrorKind.UNAVAILABLE
    assert "context gone" in (snapshot.error or "")


def test_with_pytest_httpserver_and_no_price_book(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/api/v1/pods").respond_with_json(
        pod_list([pod(), pod("waiting", node="", phase="Pending")])
    )
    httpserver.expect_request("/api/v1/nodes").respond_with_json(pod_list([gke_node()], kind="NodeList"))
    path = write_kubeconfig(tmp_path / "kubeconfig", {"prod": httpserver.url_for("").rstrip("/")})
    kube = collector({"kubeconfig": str(path)})
    build = kube.build(kube.fetch(), NOW)
    text = render(build.families)
    ids = 'replica_id="llama-7d9f8b6c5-x2k4p",service_name="llama",source="kubernetes"'
    assert f'skyserve_replica_status{{{ids},status="READY"}} 1.0' in text
    assert (
        'skyserve_unpriced_replicas{reason="no_price_book",service_name="llama",source="kubernetes"} 1.0'
        in text
    )
    assert 'skyserve_replica_accelerators{accelerator="L4",replica_id="llama-7d9f8b6c5-x2k4p"' in text
    assert (
        'skyserve_kubernetes_pod_info{kubernetes_context="prod",kubernetes_namespace="serving",node="",replica_id="waiting"'
        in text
    )

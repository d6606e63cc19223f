"""Sharding, proved with the real engine: three sharded exporters and one unsharded one watch one
simulated fleet, and a real Prometheus (Debian's package) scraping all four in two jobs finds the
same fleet in both.

The simulator's fleet stands still (no tick), so the four processes, collecting on their own
schedules, see the same services, pools, controllers, Kubernetes pods and nodes, bare-metal
nodes and probe results. Every exporter gets the same config: what ``--demo`` runs (every
collector, aimed at the simulator), plus static probe targets, one of them over TLS, and no
accelerator rates, so that some replicas are unpriced.

Compared between the jobs at one instant: the series of every fleet family (the exporter's own
``skyserve_exporter_*`` families are per process and left out), their values except the
durations of checks, which differ between any two runs, and the accrued-cost counters, which
each process integrates over its own collection times; the hourly cost; replicas by status and by
cloud. And within the sharded job: no series served by two shards, three distinct shards, each
with its share of the fleet, and SkyServeExporterShardsMissing's expression firing once a shard
stops.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from exporter.config import read_config
from exporter.demo import (
    DEMO_BAREMETAL_NODES,
    DEMO_KUBERNETES_CLUSTERS,
    DEMO_KUBERNETES_NODES,
    DEMO_KUBERNETES_PODS,
    demo_config,
)
from exporter.metrics_doc import all_tables
from exporter.registry import discover
from simulator import Simulator
from simulator.demo import DEMO_POOLS
from tests.integration.harness import (
    Exporter,
    Process,
    free_port,
    require_binary,
    tls_health_server,
    wait_for,
)

pytestmark = pytest.mark.integration

TOTAL = 3
# Values that differ between any two runs, sharded or not: how long a check took, and the cost
# each process accrued over its own collection times.
UNEQUAL_VALUES = frozenset(
    {
        "skyserve_probe_duration_seconds",
        "skyserve_probe_http_duration_seconds",
        "skyserve_node_check_duration_seconds",
        "skyserve_replica_cost_dollars_total",
        "skyserve_controller_cost_dollars_total",
    }
)
FLEET = '__name__=~"skyserve_.+", __name__!~"skyserve_exporter_.+"'
# count without (instance) would merge two families with the same labels: the name is kept as a label.
NAMED = 'label_replace({{{selector}}}, "name", "$1", "__name__", "(.+)")'
SHARDS_MISSING = (
    "count by (job) (count by (job, shard) (skyserve_exporter_shard_info))"
    " < on (job) max by (job) (skyserve_exporter_total_shards)"
)


@dataclass(frozen=True)
class Setup:
    simulator: Simulator
    shards: list[Exporter]
    unsharded: Exporter
    prometheus: str


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sharding")


@pytest.fixture(scope="module")
def tls_target(workdir: Path) -> Iterator[tuple[str, Path]]:
    with tls_health_server(workdir) as target:
        yield target


def exporter_config(workdir: Path, simulator: Simulator, tls_target: tuple[str, Path]) -> Path:
    """What --demo runs against this simulator, as a config file every exporter reads."""
    factories = discover()
    raw = read_config(None, factories, {"SKYPILOT_API_SERVER_ENDPOINT": simulator.url})
    config = demo_config(raw, simulator, factories)
    collectors: dict[str, dict[str, Any]] = {
        name: dict(body or {}) for name, body in config.collectors.items()
    }
    assert set(collectors) == {"skyserve", "kubernetes", "baremetal", "probes"}
    for section in collectors.values():
        section["interval"] = "2s"
    url, ca_file = tls_target
    collectors["probes"]["modules"] = {"https_local": {"tls_config": {"ca_file": str(ca_file)}}}
    collectors["probes"]["targets"] = [
        {"name": "tls-endpoint", "url": url, "module": "https_local"},
        *({"name": f"site-{n}", "url": f"{simulator.data_plane_url}/"} for n in range(6)),
    ]
    pricing = dict(config.top_level["pricing"] or {})
    # No accelerator rates: GPU pods and SSH-pool replicas are unpriced, so that family is compared too.
    pricing["kubernetes"] = {**pricing["kubernetes"], "accelerators": {}}
    path = workdir / "exporter.yml"
    path.write_text(yaml.safe_dump({"collectors": collectors, "pricing": pricing}))
    return path


def start_prometheus(workdir: Path, shards: list[Exporter], unsharded: Exporter) -> tuple[Process, str]:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "sharded",
                "static_configs": [{"targets": [f"127.0.0.1:{e.port}" for e in shards]}],
            },
            {"job_name": "unsharded", "static_configs": [{"targets": [f"127.0.0.1:{unsharded.port}"]}]},
        ],
    }
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [
        require_binary("prometheus"),
        f"--config.file={path}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return Process(argv, workdir / "prometheus.log"), f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def setup(workdir: Path, tls_target: tuple[str, Path]) -> Iterator[Setup]:
    # No tick: the fleet stands still, so every exporter sees the same one.
    with Simulator(
        services=12,
        replicas_per_service=4,
        seed=11,
        baremetal_nodes=DEMO_BAREMETAL_NODES,
        kubernetes_pods=DEMO_KUBERNETES_PODS,
        kubernetes_nodes=DEMO_KUBERNETES_NODES,
        kubernetes_clusters=DEMO_KUBERNETES_CLUSTERS,
        pools=DEMO_POOLS,
    ) as simulator:
        config = str(exporter_config(workdir, simulator, tls_target))
        shards = [
            Exporter(["--config", config, "--shard", str(i), "--total-shards", str(TOTAL)], workdir)
            for i in range(TOTAL)
        ]
        unsharded = Exporter(["--config", config], workdir)
        prometheus: Process | None = None
        try:
            for exporter in (*shards, unsharded):
                exporter.wait_ready(60)
            prometheus, url = start_prometheus(workdir, shards, unsharded)
            yield Setup(simulator, shards, unsharded, url)
        finally:
            if prometheus is not None:
                prometheus.stop()
            for exporter in (*shards, unsharded):
                exporter.stop()


def query(url: str, expr: str, at: float) -> list[dict[str, Any]]:
    params: dict[str, str | float] = {"query": expr, "time": at}
    response = requests.get(f"{url}/api/v1/query", params=params, timeout=30)
    body = response.json()
    assert body["status"] == "success", (expr, body)
    return list(body["data"]["result"])


def try_query(url: str, expr: str, at: float) -> list[dict[str, Any]]:
    try:
        return query(url, expr, at)
    except (requests.RequestException, AssertionError, ValueError):
        return []


def instant(setup: Setup) -> float:
    """An instant at which Prometheus holds a scrape of all four exporters, each after a run of
    every collector (they were ready before it started)."""
    url = setup.prometheus

    def scraped() -> float | None:
        at = time.time()
        up = try_query(url, 'up{job=~"sharded|unsharded"} == 1', at)
        data = try_query(url, "count by (instance) (skyserve_exporter_shard_info)", at)
        return at if len(up) == TOTAL + 1 and len(data) == TOTAL + 1 else None

    at = wait_for(scraped, 60, "Prometheus to scrape all four exporters", step=0.5)
    time.sleep(2)  # a second scrape of each, so that the instant is inside a scraped interval
    return at + 2


def by_identity(result: list[dict[str, Any]]) -> dict[tuple[tuple[str, str], ...], str]:
    """Series without their target labels, by labels (the name included): their values."""
    return {
        tuple(sorted((k, v) for k, v in sample["metric"].items() if k not in ("instance", "job"))): sample[
            "value"
        ][1]
        for sample in result
    }


@pytest.fixture(scope="module")
def at(setup: Setup) -> float:
    return instant(setup)


def fleet_families() -> set[str]:
    return {
        spec.name
        for table in all_tables().values()
        for spec in table
        if not spec.name.startswith("skyserve_exporter_")
    }


def test_every_fleet_family_has_as_many_series_in_the_shards_as_unsharded(setup: Setup, at: float) -> None:
    counts: dict[str, dict[str, int]] = {}
    for job in ("sharded", "unsharded"):
        result = query(setup.prometheus, f'count by (__name__) ({{job="{job}", {FLEET}}})', at)
        counts[job] = {sample["metric"]["__name__"]: int(sample["value"][1]) for sample in result}
    families = fleet_families()
    assert set(counts["unsharded"]) <= families
    assert {name: counts["sharded"].get(name, 0) for name in families} == {
        name: counts["unsharded"].get(name, 0) for name in families
    }
    # The comparison means something: the families of every collector are in this fleet.
    missing = sorted(families - set(counts["unsharded"]))
    assert missing == [], f"families the test fleet does not exercise: {missing}"


def test_the_shards_serve_the_series_and_values_of_the_unsharded_exporter(setup: Setup, at: float) -> None:
    sharded = by_identity(query(setup.prometheus, f'{{job="sharded", {FLEET}}}', at))
    unsharded = by_identity(query(setup.prometheus, f'{{job="unsharded", {FLEET}}}', at))
    assert len(unsharded) > 1000
    assert set(sharded) == set(unsharded)
    differing = [
        key
        for key, value in unsharded.items()
        if dict(key)["__name__"] not in UNEQUAL_VALUES and sharded[key] != value
    ]
    assert differing == []


def test_no_fleet_series_is_served_by_two_shards(setup: Setup, at: float) -> None:
    named = NAMED.format(selector=f'job="sharded", {FLEET}')
    twice = query(setup.prometheus, f"count without (instance) ({named}) > 1", at)
    assert twice == []
    # The control: the same query over both jobs finds every fleet series twice.
    named = NAMED.format(selector=f'job=~"sharded|unsharded", {FLEET}')
    both = query(setup.prometheus, f"count without (instance, job) ({named}) > 1", at)
    assert len(both) > 1000


def test_hourly_cost_and_replicas_add_up_over_the_shards(setup: Setup, at: float) -> None:
    aggregates = {
        "hourly cost": "sum(skyserve_replica_hourly_cost_dollars{job=JOB})",
        "hourly cost by cloud": "sum by (source, cloud) (skyserve_replica_hourly_cost_dollars{job=JOB})",
        "controllers' hourly cost": "sum(skyserve_controller_hourly_cost_dollars{job=JOB})",
        "nodes' hourly cost": "sum by (source) (skyserve_node_hourly_cost_dollars{job=JOB})",
        "idle pools' hourly cost": "sum(skyserve_pool_idle_hourly_cost_dollars{job=JOB})",
        "unpriced replicas": "sum by (source, reason) (skyserve_unpriced_replicas{job=JOB})",
        "replicas by status": "count by (source, status) (skyserve_replica_status{job=JOB})",
        "replicas by cloud": "sum by (source, cloud, spot) (skyserve_replicas_by_cloud{job=JOB})",
        "service replicas by status": "sum by (status) (skyserve_service_replicas{job=JOB})",
        "pods by status": "sum by (status) (skyserve_kubernetes_service_replicas{job=JOB})",
        "probes by kind": "count by (kind) (skyserve_probe_success{job=JOB})",
        "successful probes by kind": "sum by (kind) (skyserve_probe_success{job=JOB})",
    }
    for what, expr in aggregates.items():
        found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        for job in ("sharded", "unsharded"):
            result = query(setup.prometheus, expr.replace("JOB", f'"{job}"'), at)
            found[job] = {tuple(sorted(s["metric"].items())): float(s["value"][1]) for s in result}
        assert found["unsharded"], what
        assert found["sharded"].keys() == found["unsharded"].keys(), what
        for key, value in found["unsharded"].items():
            assert found["sharded"][key] == pytest.approx(value, rel=1e-9), (what, key)
    total = query(setup.prometheus, 'sum(skyserve_replica_hourly_cost_dollars{job="unsharded"})', at)
    assert float(total[0]["value"][1]) > 0


def test_three_distinct_shards_each_with_a_share(setup: Setup, at: float) -> None:
    info = query(setup.prometheus, 'skyserve_exporter_shard_info{job="sharded"}', at)
    assert sorted((s["metric"]["shard"], s["metric"]["total_shards"]) for s in info) == [
        ("0", "3"),
        ("1", "3"),
        ("2", "3"),
    ]
    (whole,) = query(setup.prometheus, f'count({{job="unsharded", {FLEET}}})', at)
    shares = query(setup.prometheus, f'count by (instance) ({{job="sharded", {FLEET}}})', at)
    assert len(shares) == TOTAL
    # Hashing names spreads a fleet of this size unevenly, but never down to a sliver.
    assert all(float(s["value"][1]) > float(whole["value"][1]) / TOTAL / 3 for s in shares), shares
    # Each collector's series are spread over the shards, not left to one: dozens of services,
    # pods and probes land on every shard, the four bare-metal nodes on more than one.
    spread = {
        "skyserve_service_info": TOTAL,
        "skyserve_kubernetes_pod_info": TOTAL,
        "skyserve_probe_success": TOTAL,
        "skyserve_node_up": 2,
    }
    for family, shards in spread.items():
        serving = {s["metric"]["instance"] for s in query(setup.prometheus, f'{family}{{job="sharded"}}', at)}
        assert len(serving) >= shards, family
    assert not query(setup.prometheus, SHARDS_MISSING, at)


def test_a_stopped_shard_is_reported_missing(setup: Setup, at: float) -> None:
    # Last: it stops shard 2 for good.
    setup.shards[2].stop()

    def missing() -> list[dict[str, Any]]:
        return try_query(setup.prometheus, SHARDS_MISSING, time.time())

    (found,) = wait_for(missing, 30, "the missing shard to show in the alert's expression", step=0.5)
    assert found["metric"] == {"job": "sharded"}
    assert found["value"][1] == "2"

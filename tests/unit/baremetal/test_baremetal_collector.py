"""The collector end to end, with real loopback HTTP/TCP servers as nodes."""

import logging
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pydantic
import pytest
from prometheus_client.parser import text_string_to_metric_families

from collectors.baremetal.collector import INVENTORY_INVALID, BareMetalCollector
from collectors.baremetal.config import BareMetalConfig
from collectors.baremetal.inventory import SSH_PORT
from collectors.baremetal.metrics import BAREMETAL_METRICS, replica_prices
from collectors.baremetal.nodes import DUPLICATE_NODE
from collectors.pricing import REPLICA_COST_SPECS
from collectors.skyserve.metrics import SKYSERVE_METRICS
from exporter.collector import Build, Collector, CostSlice, Endpoint, ServiceSummary
from exporter.config_errors import SectionError
from exporter.runner import run_once
from tests.unit.baremetal.helpers import (
    HOST,
    NodeServer,
    Samples,
    context,
    hanging_listener,
    labels_of,
    node,
    refused_port,
    render,
    samples,
    value,
    write_inventory,
)

NOW = 1_795_830_000.0
TIMEOUT = "300ms"


def _replica(service: str, port: int, health_path: str | None = "/health") -> dict[str, Any]:
    entry: dict[str, Any] = {"service_name": service, "port": port}
    if health_path is not None:
        entry["health_path"] = health_path
    return entry


def _collector(inventory: Path, **config: Any) -> BareMetalCollector:
    section = {"inventory": str(inventory), "timeout": TIMEOUT, **config}
    return BareMetalCollector.from_config(BareMetalConfig.model_validate(section), context())


def _collect(collector: BareMetalCollector) -> tuple[Build, Samples]:
    build = collector.build(collector.fetch(), NOW)
    return build, samples(render(build.families))


def _up(found: Samples, name: str) -> float | None:
    return value(found, "skyserve_node_up", node=name, source="baremetal")


def _status(found: Samples, replica_id: str) -> str:
    return labels_of(found, "skyserve_replica_status", replica_id=replica_id)["status"]


class Fleet:
    """Five loopback nodes, one of each kind the issue names."""

    def __init__(self, stack: ExitStack, tmp_path: Path) -> None:
        self.healthy = stack.enter_context(NodeServer(200))
        self.failing = stack.enter_context(NodeServer(500))
        self.slow = stack.enter_context(NodeServer(200, delay=30))
        self.tcp = stack.enter_context(NodeServer(200))
        self.refused = refused_port()
        h, f, s, t, r = self.healthy, self.failing, self.slow, self.tcp, self.refused
        self.nodes = [
            node(
                "healthy",
                instance_type="GEX130",
                datacenter="fsn1-dc14",
                accelerators={"RTX6000Ada": 1},
                monthly_cost=730.0,
                health_url=h.url(),
                replicas=[_replica("llama", h.port), _replica("embed", f.port)],
            ),
            node(
                "failing",
                provider="OVH",
                region="gra",
                hourly_cost=2.0,
                health_url=f.url(),
                replicas=[_replica("llama", f.port)],
            ),
            node("slow", health_url=s.url(), replicas=[_replica("llama", s.port)]),
            node("tcp-only", provider="onprem", region="rack", replicas=[_replica("embed", t.port, None)]),
            node("refused", hourly_cost=1.0, replicas=[_replica("llama", r)]),
        ]
        self.inventory = write_inventory(tmp_path / "inventory.yml", self.nodes)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with ExitStack() as stack:
        yield Fleet(stack, tmp_path)


def test_it_is_a_collector(fleet: Fleet) -> None:
    collector = _collector(fleet.inventory, interval="20s")
    assert isinstance(collector, Collector)
    # The section's timeout bounds each check; the framework bounds the run by the interval.
    assert (collector.name, collector.interval, collector.timeout) == ("baremetal", 20.0, 20.0)
    assert BareMetalCollector.config_model is BareMetalConfig
    assert BareMetalCollector.default_config({"SKYPILOT_API_SERVER_ENDPOINT": "http://x"}) is None


def test_node_up_follows_the_health_check(fleet: Fleet) -> None:
    _, found = _collect(_collector(fleet.inventory))
    ups = {name: _up(found, name) for name in ("healthy", "failing", "slow", "tcp-only", "refused")}
    assert ups == {"healthy": 1, "failing": 0, "slow": 0, "tcp-only": 1, "refused": 0}


def test_replica_status_ready_not_ready_or_unknown(fleet: Fleet) -> None:
    _, found = _collect(_collector(fleet.inventory))
    h, f, s, t, r = fleet.healthy, fleet.failing, fleet.slow, fleet.tcp, fleet.refused
    assert _status(found, f"healthy:{h.port}") == "READY"
    assert _status(found, f"healthy:{f.port}") == "NOT_READY"  # node up, this port answers 500
    assert _status(found, f"failing:{f.port}") == "NOT_READY"  # answered, unhealthily
    assert _status(found, f"slow:{s.port}") == "NOT_READY"  # connected, no answer in time
    assert _status(found, f"tcp-only:{t.port}") == "READY"
    assert _status(found, f"refused:{r}") == "UNKNOWN"  # nothing could be reached
    assert t.paths == []  # without health_path, only a TCP connect


def test_labels_placement_and_hardware(fleet: Fleet) -> None:
    _, found = _collect(_collector(fleet.inventory))
    assert labels_of(found, "skyserve_node_info", node="healthy") == {
        "node": "healthy",
        "source": "baremetal",
        "cloud": "hetzner",
        "region": "fsn1",
        "zone": "fsn1-dc14",
        "instance_type": "GEX130",
        "accelerator": "RTX6000Ada",
        "spot": "false",
    }
    assert labels_of(found, "skyserve_node_info", node="failing")["cloud"] == "ovh"
    replica = labels_of(found, "skyserve_replica_info", replica_id=f"healthy:{fleet.healthy.port}")
    assert replica == {
        "service_name": "llama",
        "replica_id": f"healthy:{fleet.healthy.port}",
        "source": "baremetal",
        "version": "",
        "cloud": "hetzner",
        "region": "fsn1",
        "zone": "fsn1-dc14",
        "instance_type": "GEX130",
        "accelerator": "RTX6000Ada",
        "spot": "false",
        "kind": "service",
    }


def test_fixed_prices_split_evenly_among_hosted_replicas(fleet: Fleet) -> None:
    _, found = _collect(_collector(fleet.inventory))
    node_cost = "skyserve_node_hourly_cost_dollars"
    assert value(found, node_cost, node="healthy", price_source="fixed") == pytest.approx(1.0)  # 730 / 730 h
    assert value(found, node_cost, node="failing", cloud="ovh", region="gra") == pytest.approx(2.0)
    assert value(found, node_cost, node="slow") is None  # no price: no series, never a zero
    cost = "skyserve_replica_hourly_cost_dollars"
    h, f = fleet.healthy.port, fleet.failing.port
    assert value(found, cost, replica_id=f"healthy:{h}", price_source="fixed") == pytest.approx(0.5)
    assert value(found, cost, replica_id=f"healthy:{f}") == pytest.approx(0.5)
    assert value(found, cost, replica_id=f"failing:{f}") == pytest.approx(2.0)
    assert value(found, cost, replica_id=f"slow:{fleet.slow.port}") is None
    unpriced = "skyserve_unpriced_replicas"
    assert value(found, unpriced, service_name="llama", source="baremetal", reason="no_fixed_price") == 1
    assert value(found, unpriced, service_name="embed", reason="no_fixed_price") == 1


def test_replica_prices_is_the_seam_for_the_shared_cost_families(fleet: Fleet) -> None:
    prices = replica_prices(_collector(fleet.inventory).fetch().nodes.nodes)
    healthy = [p for p in prices if p.replica_id.startswith("healthy:")]
    assert [p.price.hourly for p in healthy] == [pytest.approx(0.5), pytest.approx(0.5)]
    assert {(p.source, p.cloud, p.region, p.spot, p.price.source) for p in healthy} == {
        ("baremetal", "hetzner", "fsn1", False, "fixed")
    }


def test_accrued_cost_counts_up_between_runs(fleet: Fleet) -> None:
    collector = _collector(fleet.inventory)
    raw = collector.fetch()
    first = samples(render(collector.build(raw, NOW).families))
    second = samples(render(collector.build(raw, NOW + 60).families))  # within stale_after
    total = "skyserve_replica_cost_dollars_total"
    replica = f"failing:{fleet.failing.port}"
    assert value(first, total, replica_id=replica, source="baremetal") == 0
    assert value(second, total, replica_id=replica, source="baremetal") == pytest.approx(
        2.0 / 60
    )  # $2/h, 1 min


def test_replicas_by_cloud(fleet: Fleet) -> None:
    _, found = _collect(_collector(fleet.inventory))
    by_cloud = "skyserve_replicas_by_cloud"
    assert value(found, by_cloud, service_name="llama", cloud="hetzner", region="fsn1", spot="false") == 3
    assert value(found, by_cloud, service_name="llama", cloud="ovh", region="gra") == 1
    assert value(found, by_cloud, service_name="embed", cloud="onprem", region="rack") == 1


def test_families_match_the_declared_table(fleet: Fleet) -> None:
    build, _ = _collect(_collector(fleet.inventory))
    declared = {spec.name: spec for spec in BAREMETAL_METRICS}
    families = list(text_string_to_metric_families(render(build.families)))
    names = [family.name if family.type == "gauge" else f"{family.name}_total" for family in families]
    assert names == list(declared)
    for family in families:
        spec = declared[family.name if family.type == "gauge" else f"{family.name}_total"]
        assert family.type == spec.type
        assert "Refreshed every 30s." in family.documentation
        assert family.samples, family.name
        for sample in family.samples:
            assert set(sample.labels) == set(spec.labels), sample
            assert {"instance", "job", "service"}.isdisjoint(sample.labels)


def test_shared_replica_families_are_the_same_rows_as_skyserves() -> None:
    shared = ["skyserve_replica_info", "skyserve_replica_status", "skyserve_replicas_by_cloud"]
    shared += [spec.name for spec in REPLICA_COST_SPECS]
    for name in shared:
        assert BAREMETAL_METRICS.by_name(name) == SKYSERVE_METRICS.by_name(name)


def test_check_duration_is_reported_per_node(fleet: Fleet) -> None:
    _, found = _collect(_collector(fleet.inventory))
    slow = value(found, "skyserve_node_check_duration_seconds", node="slow", source="baremetal")
    assert slow is not None and 0.25 < slow < 3.0


def test_services_and_endpoints_for_the_landing_page_and_probes(fleet: Fleet) -> None:
    build, found = _collect(_collector(fleet.inventory))
    assert build.services == (
        ServiceSummary(
            "embed",
            "baremetal",
            "READY",
            1,
            2,
            ("hetzner", "onprem"),
            replicas_by_status={"NOT_READY": 1, "READY": 1},
            costs=(CostSlice("hetzner", False, 0.5, 1),),
            unpriced={"no_fixed_price": 1},
        ),
        ServiceSummary(
            "llama",
            "baremetal",
            "READY",
            1,
            4,
            ("hetzner", "ovh"),
            replicas_by_status={"READY": 1, "NOT_READY": 2, "UNKNOWN": 1},
            costs=(CostSlice("hetzner", False, 1.5, 2), CostSlice("ovh", False, 2.0, 1)),
            unpriced={"no_fixed_price": 1},
        ),
    )
    # The summaries' cost is what the cost samples add up to (the console shows the summaries).
    hourly = [v for (name, _), v in found.items() if name == "skyserve_replica_hourly_cost_dollars"]
    assert sum(s.hourly_cost for s in build.services) == pytest.approx(sum(hourly))
    h = fleet.healthy
    assert Endpoint(url=h.url(), kind="node") in build.endpoints
    assert Endpoint(f"http://{HOST}:{h.port}", "replica", "llama", f"healthy:{h.port}") in build.endpoints
    assert not [e for e in build.endpoints if e.replica_id.startswith("tcp-only")]  # not HTTP


def test_a_node_that_recovers_is_up_at_the_next_run(fleet: Fleet) -> None:
    collector = _collector(fleet.inventory)
    _, before = _collect(collector)
    fleet.failing.status = 200
    _, after = _collect(collector)
    port = fleet.failing.port
    assert (_up(before, "failing"), _status(before, f"failing:{port}")) == (0, "NOT_READY")
    assert (_up(after, "failing"), _status(after, f"failing:{port}")) == (1, "READY")
    assert _status(after, f"healthy:{port}") == "READY"


def test_twenty_hanging_nodes_finish_within_about_one_timeout(tmp_path: Path) -> None:
    with hanging_listener() as port, NodeServer(200) as healthy:
        nodes = [node(f"hung-{i}", health_url=f"http://{HOST}:{port}/n/{i}") for i in range(20)]
        nodes.append(node("fine", health_url=healthy.url()))
        collector = _collector(write_inventory(tmp_path / "inventory.yml", nodes), timeout="500ms")
        started = time.monotonic()
        _, found = _collect(collector)
        elapsed = time.monotonic() - started
    assert elapsed < 5.0  # checked one by one, 20 x 0.5 s would take 10 s
    assert _up(found, "fine") == 1
    assert all(_up(found, f"hung-{i}") == 0 for i in range(20))


def test_an_inventory_edit_takes_effect_at_the_next_run(fleet: Fleet) -> None:
    collector = _collector(fleet.inventory)
    _, before = _collect(collector)
    edited = [{**fleet.nodes[1], "hourly_cost": 3.0}, node("new", health_url=fleet.healthy.url())]
    write_inventory(fleet.inventory, edited)
    build, after = _collect(collector)
    assert _up(before, "new") is None and _up(after, "new") == 1
    assert _up(after, "healthy") is None  # removed from the file, gone from /metrics
    assert value(after, "skyserve_node_hourly_cost_dollars", node="failing") == pytest.approx(3.0)
    assert build.skipped == {}


def test_a_broken_edit_keeps_the_last_good_inventory_and_is_counted(
    fleet: Fleet, caplog: pytest.LogCaptureFixture
) -> None:
    collector = _collector(fleet.inventory)
    _collect(collector)
    fleet.inventory.write_text(fleet.inventory.read_text().replace("hourly_cost: 2.0", "hourly_cost: -2.0"))
    with caplog.at_level(logging.WARNING):
        first, found = _collect(collector)
        second, _ = _collect(collector)
    assert _up(found, "healthy") == 1  # the last good inventory is still checked
    assert value(found, "skyserve_node_hourly_cost_dollars", node="failing") == pytest.approx(2.0)
    assert first.skipped == second.skipped == {INVENTORY_INVALID: 1}  # on every run until fixed
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # logged once per broken version, not per run
    assert (
        warnings[0].__dict__["error"]
        == "nodes.1.hourly_cost: Input should be greater than or equal to 0 (node failing)"
    )
    write_inventory(fleet.inventory, fleet.nodes[:1])
    fixed, found = _collect(collector)
    assert fixed.skipped == {}
    assert _up(found, "failing") is None


def test_a_deleted_inventory_keeps_the_last_good_one(fleet: Fleet) -> None:
    collector = _collector(fleet.inventory)
    fleet.inventory.unlink()
    build, found = _collect(collector)
    assert build.skipped == {INVENTORY_INVALID: 1}
    assert _up(found, "healthy") == 1


def test_the_runner_collects_and_renders_it(fleet: Fleet) -> None:
    snapshot = run_once(_collector(fleet.inventory), lambda: NOW, logging.getLogger("test"))
    assert snapshot.ok, snapshot.error


def test_ssh_node_pools_are_read_and_checked_by_tcp(tmp_path: Path) -> None:
    pools = tmp_path / "ssh_node_pools.yaml"
    pools.write_text(f"lab:\n  hosts:\n    - {HOST}\n  user: ubuntu\n  password: SECRET\n")
    section = {"ssh_node_pools": str(pools), "timeout": TIMEOUT}
    collector = BareMetalCollector.from_config(section, context())
    text = render(collector.build(collector.fetch(), NOW).families)
    found = samples(text)
    info = labels_of(found, "skyserve_node_info", node=HOST)
    assert (info["cloud"], info["region"], info["source"]) == ("ssh", "ssh-lab", "baremetal")
    assert _up(found, HOST) == (1 if _sshd_listening() else 0)
    assert value(found, "skyserve_node_hourly_cost_dollars", node=HOST) is None
    assert "SECRET" not in text


def _sshd_listening() -> bool:
    try:
        with socket.create_connection((HOST, SSH_PORT), timeout=1.0):
            return True
    except OSError:
        return False


def test_an_inventory_node_wins_over_an_ssh_pool_host_of_the_same_name(fleet: Fleet, tmp_path: Path) -> None:
    pools = tmp_path / "pools.yaml"
    pools.write_text("lab:\n  hosts: [healthy, 10.9.9.9]\n")
    collector = _collector(fleet.inventory, ssh_node_pools=str(pools))
    build = collector.build(collector.fetch(), NOW)
    # From the families, not parsed into a dict, so that a node exported twice is seen twice.
    info = [s.labels for f in build.families for s in f.samples if s.name == "skyserve_node_info"]
    names = [labels["node"] for labels in info]
    assert names.count("healthy") == 1 and "10.9.9.9" in names
    assert {labels["cloud"] for labels in info if labels["node"] == "healthy"} == {"hetzner"}
    assert build.skipped == {DUPLICATE_NODE: 1}


def test_a_broken_inventory_at_start_is_a_config_error_naming_the_file_and_every_mistake(
    tmp_path: Path,
) -> None:
    nodes = [node("a", replicas=[{"service_name": "s", "port": 99999}]), node("gpu-box-3", monthly_cost=-838)]
    path = write_inventory(tmp_path / "inventory.yml", nodes)
    with pytest.raises(SectionError) as raised:
        _collector(path)
    assert raised.value.problems == (
        ("inventory", f"{path}: nodes.0.replicas.0.port: port must be 1-65535, got 99999 (node a)"),
        (
            "inventory",
            f"{path}: nodes.1.monthly_cost: Input should be greater than or equal to 0 (node gpu-box-3)",
        ),
    )


def test_missing_node_files_at_start_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(SectionError) as raised:
        _collector(tmp_path / "nope.yml")
    assert raised.value.problems == (
        ("inventory", f"{tmp_path / 'nope.yml'}: cannot read: No such file or directory"),
    )
    section = {"ssh_node_pools": str(tmp_path / "pools.yaml"), "timeout": TIMEOUT}
    with pytest.raises(SectionError) as raised:
        BareMetalCollector.from_config(section, context())
    assert raised.value.problems == (
        ("ssh_node_pools", f"{tmp_path / 'pools.yaml'}: cannot read: No such file or directory"),
    )


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({}, "give inventory, ssh_node_pools or both"),
        (
            {"inventory": "x", "timeout": "30s", "interval": "30s"},
            "timeout: 30s must be shorter than interval",
        ),
        ({"inventory": "x", "concurrency": 0}, "greater than or equal to 1"),
        ({"inventory": "x", "parallel": 3}, "Extra inputs are not permitted"),
    ],
)
def test_config_mistakes(section: dict[str, Any], expected: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=expected):
        BareMetalConfig.model_validate(section)


def test_an_unset_timeout_fits_a_short_interval() -> None:
    config = BareMetalConfig.model_validate({"inventory": "x", "interval": "4s"})
    assert (config.interval, config.timeout) == (4.0, 2.0)


def test_config_defaults_and_home_expansion() -> None:
    config = BareMetalConfig.model_validate({"ssh_node_pools": "~/.sky/ssh_node_pools.yaml"})
    assert (config.timeout, config.concurrency, config.interval) == (5.0, 64, 30.0)
    assert config.ssh_node_pools == Path.home() / ".sky" / "ssh_node_pools.yaml"

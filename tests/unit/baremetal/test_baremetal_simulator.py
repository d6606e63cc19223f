"""The simulator's bare-metal nodes and the ``--demo`` wiring, read by the real collector."""

import logging
from pathlib import Path

import requests

from collectors.baremetal.collector import BareMetalCollector
from collectors.baremetal.config import BareMetalConfig
from exporter.config import ExporterConfig, validate_config
from exporter.demo import DEMO_BAREMETAL_NODES, demo_config
from exporter.registry import discover
from simulator import Simulator
from simulator.baremetal import BareMetalFleet
from tests.unit.baremetal.helpers import context

NOW = 1_795_830_000.0


def _ups(inventory: Path) -> dict[str, float | None]:
    collector = BareMetalCollector.from_config({"inventory": str(inventory), "timeout": "2s"}, context())
    build = collector.build(collector.fetch(), NOW)
    # Node by node, in the inventory's order, as the families hold them.
    return {
        sample.labels["node"]: sample.value
        for family in build.families
        for sample in family.samples
        if sample.name == "skyserve_node_up"
    }


def test_the_simulator_runs_no_bare_metal_nodes_unless_asked() -> None:
    with Simulator() as sim:
        assert sim.baremetal is None
        assert sim.baremetal_inventory_path is None


def test_simulated_nodes_are_healthy_except_the_last() -> None:
    with Simulator(services=1, replicas_per_service=1, baremetal_nodes=4) as sim:
        inventory = sim.baremetal_inventory_path
        assert inventory is not None and inventory.is_file()
        ups = _ups(inventory)
    assert list(ups.values()) == [1, 1, 1, 0]
    assert not inventory.exists()  # stop() cleans up


def test_a_simulated_node_can_be_failed_and_healed() -> None:
    with BareMetalFleet(2) as fleet:
        first, last = fleet.names
        fleet.set_healthy(first, False)
        fleet.set_healthy(last, True)
        assert _ups(fleet.inventory_path) == {first: 0, last: 1}


def test_every_path_of_a_failing_node_answers_500() -> None:
    with BareMetalFleet(2) as fleet:
        nodes = fleet.inventory()["nodes"]
        answers = [requests.get(n["health_url"], timeout=5).status_code for n in nodes]
    assert answers == [200, 500]


def test_the_demo_points_the_collector_at_the_simulated_inventory() -> None:
    with Simulator(services=1, replicas_per_service=1, baremetal_nodes=DEMO_BAREMETAL_NODES) as sim:
        raw = ExporterConfig(collectors={"baremetal": {"ssh_node_pools": "/nonexistent", "timeout": "3s"}})
        config = demo_config(raw, sim, discover())
        section = config.collectors["baremetal"]
        assert section == {"inventory": str(sim.baremetal_inventory_path), "timeout": "3s"}
        loaded = validate_config(config, discover())
        enabled = {item.factory.name: item.config for item in loaded.collectors}
        assert isinstance(enabled["baremetal"], BareMetalConfig)
        assert BareMetalCollector.from_config(enabled["baremetal"], context(logging.getLogger("demo")))


def test_without_simulated_nodes_the_demo_adds_no_section() -> None:
    with Simulator(services=1, replicas_per_service=1) as sim:
        assert BareMetalCollector.demo_config(None, sim) is None
        assert "baremetal" not in demo_config(ExporterConfig(), sim, discover()).collectors

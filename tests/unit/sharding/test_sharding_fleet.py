"""Sharding across every collector: three shards of the demo fleet serve exactly the series one
unsharded exporter serves, each series from one shard, and their skip counts add up.

All built-in collectors run in-process, once each (as ``--once`` runs them), against one simulator
whose fleet does not move, with the config ``--demo`` would use; each exporter is a
``RunningCollectors`` of its own with its own shard.
"""

import logging
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from exporter.collector import waits_for_discoveries
from exporter.config import LoadedConfig, read_config, validate_config
from exporter.demo import (
    DEMO_BAREMETAL_NODES,
    DEMO_KUBERNETES_CLUSTERS,
    DEMO_KUBERNETES_NODES,
    DEMO_KUBERNETES_PODS,
    demo_config,
)
from exporter.exposition import scrape_body
from exporter.registry import discover
from exporter.reload import RunningCollectors
from exporter.runner import DeadlineRunner
from exporter.series import Format
from exporter.sharding import CurrentShard, Shard
from exporter.snapshot import SnapshotStore
from simulator import Simulator
from simulator.demo import DEMO_POOLS
from tests.integration.harness import Samples, parse_samples

LOG = logging.getLogger("test.sharding")
TOTAL = 3
# What varies from one run to the next whatever the shard: how long a check took.
TIMED = (
    "skyserve_probe_duration_seconds",
    "skyserve_probe_http_duration_seconds",
    "skyserve_node_check_duration_seconds",
)


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    # No tick: the fleet stands still, so every exporter sees the same one.
    with Simulator(
        services=8,
        replicas_per_service=4,
        seed=5,
        baremetal_nodes=DEMO_BAREMETAL_NODES,
        kubernetes_pods=DEMO_KUBERNETES_PODS,
        kubernetes_nodes=DEMO_KUBERNETES_NODES,
        kubernetes_clusters=DEMO_KUBERNETES_CLUSTERS,
        pools=DEMO_POOLS,
    ) as sim:
        yield sim


def collect_once(simulator: Simulator, shard: Shard) -> Samples:
    """The exposition one exporter serves after one run of every collector."""
    factories = discover()
    environ = {"SKYPILOT_API_SERVER_ENDPOINT": simulator.url}

    def load() -> LoadedConfig:
        return validate_config(
            demo_config(read_config(None, factories, environ), simulator, factories), factories
        )

    running = RunningCollectors(
        load, SnapshotStore({}), environ, time.time, LOG, sharding=CurrentShard(shard)
    )
    running.load()
    assert {c.name for c in running.collectors} == {
        "skyserve",
        "kubernetes",
        "baremetal",
        "probes",
        "pricing",
    }
    for collector in sorted(running.collectors, key=waits_for_discoveries):
        snapshot = DeadlineRunner(collector, time.time, LOG).run()
        assert snapshot is not None and snapshot.ok, (collector.name, snapshot)
        running.store.put(snapshot)
    views = running.store.view(time.time())
    return parse_samples(b"".join(scrape_body(views, Format.TEXT, gzipped=False, shard=shard)).decode())


def fleet(samples: Samples) -> Samples:
    return {key: value for key, value in samples.items() if not key[0].startswith("skyserve_exporter_")}


@pytest.fixture(scope="module")
def runs(simulator: Simulator) -> tuple[Samples, list[Samples]]:
    return collect_once(simulator, Shard()), [collect_once(simulator, Shard(i, TOTAL)) for i in range(TOTAL)]


def test_every_fleet_series_is_served_by_exactly_one_shard(runs: tuple[Samples, list[Samples]]) -> None:
    unsharded, shards = runs
    whole = fleet(unsharded)
    pieces = [fleet(shard) for shard in shards]
    served = Counter(key for piece in pieces for key in piece)
    assert [key for key, times in served.items() if times > 1] == []
    assert set(served) == set(whole)
    for piece in pieces:
        for key, value in piece.items():
            if key[0] not in TIMED:
                assert value == whole[key], key


def test_every_family_and_every_shard_has_a_share(runs: tuple[Samples, list[Samples]]) -> None:
    unsharded, shards = runs
    families = {name for name, _ in fleet(unsharded)}
    # Every collector's families are in the demo: the comparison above covers them all.
    for needed in (
        "skyserve_service_info",
        "skyserve_pool_status",
        "skyserve_controller_status",
        "skyserve_kubernetes_pod_info",
        "skyserve_node_up",
        "skyserve_probe_success",
        "skyserve_pricing_catalog_rows",
        "skyserve_node_hourly_cost_dollars",
    ):
        assert needed in families
    for shard in shards:
        assert len(fleet(shard)) > len(fleet(unsharded)) / TOTAL / 3


def test_each_exporter_says_which_shard_it_is(runs: tuple[Samples, list[Samples]]) -> None:
    unsharded, shards = runs
    assert unsharded[("skyserve_exporter_shard_info", (("shard", "0"), ("total_shards", "1")))] == 1
    for index, shard in enumerate(shards):
        assert shard[("skyserve_exporter_shard_info", (("shard", str(index)), ("total_shards", "3")))] == 1
        assert shard[("skyserve_exporter_total_shards", ())] == TOTAL

"""The bare-metal collector: fixed-price boxes from an inventory and SkyPilot's SSH node pools.

Every run re-reads a node file that changed, checks every node and hosted replica concurrently,
and emits, for example::

    skyserve_node_up{node="gpu-box-1",source="baremetal"} 1.0
    skyserve_node_info{node="gpu-box-1",source="baremetal",cloud="hetzner",region="fsn1",zone="fsn1-dc14",
        instance_type="GEX130",accelerator="RTX6000Ada",spot="false"} 1.0
    skyserve_node_hourly_cost_dollars{node="gpu-box-1",source="baremetal",cloud="hetzner",region="fsn1",
        instance_type="GEX130",spot="false",price_source="fixed"} 1.1479
    skyserve_replica_status{service_name="llama-70b",replica_id="gpu-box-1:8000",source="baremetal",
        status="READY"} 1.0
    skyserve_replica_hourly_cost_dollars{service_name="llama-70b",replica_id="gpu-box-1:8000",
        source="baremetal",cloud="hetzner",region="fsn1",spot="false",price_source="fixed"} 1.1479

The full list and the cost split are in ``metrics``; the status rules are in ``records``.
"""

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from collectors.baremetal.checks import Checker, CheckRun, run_budget
from collectors.baremetal.config import BareMetalConfig
from collectors.baremetal.inventory import parse_inventory, parse_ssh_node_pools
from collectors.baremetal.metrics import (
    BAREMETAL_METRICS,
    add_node,
    add_replicas,
    add_replicas_by_cloud,
    replica_prices,
)
from collectors.baremetal.nodes import SOURCE, Node, NodeSet, NodeSource, WatchedFile
from collectors.baremetal.records import READY, NodeRecord, ReplicaRecord, assess
from collectors.pricing import NO_COSTS, ReplicaCosts, ServiceCosts
from exporter.collector import Build, CollectorConfig, CollectorContext, Endpoint, ServiceSummary
from exporter.metrics import FamilyBuilder, MetricTable
from exporter.sharding import UNKEYED, UNSHARDED, Shard

if TYPE_CHECKING:
    from simulator import Simulator

INVENTORY_INVALID = "inventory_invalid"
SSH_NODE_POOLS_INVALID = "ssh_node_pools_invalid"
_READY_SERVICE, _NO_READY_REPLICA = "READY", "NO_REPLICA"  # SkyServe's service statuses


@dataclass(frozen=True)
class Observation:
    """What one run's fetch saw: the nodes in use and every check's result."""

    nodes: NodeSet
    checks: CheckRun
    shard: Shard = UNSHARDED  # what was checked for (``shard_view``)


class BareMetalCollector:
    """Checks every configured node and its replicas on each run; ``build`` only interprets."""

    name: ClassVar[str] = "baremetal"
    metrics: ClassVar[MetricTable] = BAREMETAL_METRICS
    config_model: ClassVar[type[CollectorConfig]] = BareMetalConfig

    def __init__(
        self,
        source: NodeSource,
        checker: Checker,
        *,
        interval: float,
        logger: logging.Logger,
        stale_after: float,
        shard: Callable[[], Shard] = lambda: UNSHARDED,
    ) -> None:
        self.interval = interval
        self._shard = shard
        # The section's timeout bounds each check; the run as a whole has its interval, and keeps
        # its own budget within it (run_budget).
        self.timeout = interval
        self._source = source
        self._checker = checker
        self._logger = logger
        self._costs = ReplicaCosts(stale_after)

    @classmethod
    def from_config(cls, config: Any, context: CollectorContext) -> "BareMetalCollector":
        """A collector for the section; SectionError naming the key, the file and the path in it
        when a node file is unusable."""
        settings = BareMetalConfig.model_validate(config)
        source = NodeSource(_watched_files(settings, context.logger))
        checker = Checker(settings.timeout, settings.concurrency, context.session_factory)
        return cls(
            source,
            checker,
            interval=settings.interval,
            logger=context.logger,
            stale_after=settings.stale_after_seconds,
            shard=context.shard,
        )

    @classmethod
    def default_config(cls, environ: Mapping[str, str]) -> Mapping[str, Any] | None:
        return None  # there is no inventory to guess

    @classmethod
    def demo_config(
        cls, section: Mapping[str, Any] | None, simulator: "Simulator"
    ) -> Mapping[str, Any] | None:
        """The simulated GPU boxes' inventory, instead of any real node source."""
        if simulator.baremetal_inventory_path is None:
            return section
        from simulator.demo import DEMO_INTERVAL  # noqa: PLC0415

        demo = {k: v for k, v in (section or {"interval": DEMO_INTERVAL}).items() if k != "ssh_node_pools"}
        return {**demo, "inventory": str(simulator.baremetal_inventory_path)}

    def fetch(self) -> Observation:
        nodes = self._source.current()
        shard = self._shard()
        targets = [target for node in shard_view(nodes.nodes, shard) for target in node.targets()]
        budget = run_budget(
            len(set(targets)), self._checker.timeout, self._checker.concurrency, self.interval
        )
        checks = self._checker.run(targets, budget)
        if checks.late:
            self._logger.warning(
                "health checks cut off by the run's deadline; raise concurrency or lower timeout",
                extra={"collector": self.name, "late_checks": checks.late, "budget_seconds": budget},
            )
        return Observation(nodes=nodes, checks=checks, shard=shard)

    def build(self, raw: Observation, now: float) -> Build:
        owns = raw.shard.owner()
        records = assess(shard_view(raw.nodes.nodes, raw.shard), raw.checks.results)
        out = FamilyBuilder(self.metrics, refresh_seconds=self.interval)
        for record in records:
            if owns(record.node.name):
                add_node(out, record)
            add_replicas(out, record)
        add_replicas_by_cloud(out, records)
        # Each replica's share of its node's price counts every replica the node hosts.
        prices = [price for price in replica_prices(raw.nodes.nodes) if owns(price.service_name)]
        costs = self._costs.add(out, now, prices)
        return Build(
            families=out.families(),
            # About the node files, which every shard reads: one shard counts it.
            skipped=raw.nodes.skipped if owns(UNKEYED) else {},
            services=_services(records, costs),
            endpoints=_endpoints(records, owns),
        )


def shard_view(nodes: Iterable[Node], shard: Shard) -> list[Node]:
    """What a shard checks and reports: replicas by their service, nodes by their name.

    Each node the shard owns, or that hosts a replica it owns (whose status needs the node's health:
    UNKNOWN when the node cannot be reached), with only the shard's replicas.
    """
    if not shard.sharded:
        return list(nodes)
    owns = shard.owner()
    view = []
    for node in nodes:
        mine = tuple(replica for replica in node.replicas if owns(replica.service_name))
        if mine or owns(node.name):
            view.append(node if len(mine) == len(node.replicas) else replace(node, replicas=mine))
    return view


def _watched_files(settings: BareMetalConfig, logger: logging.Logger) -> list[WatchedFile]:
    files = []
    if settings.inventory is not None:
        files.append(WatchedFile("inventory", settings.inventory, parse_inventory, INVENTORY_INVALID, logger))
    if settings.ssh_node_pools is not None:
        files.append(
            WatchedFile(
                "ssh_node_pools",
                settings.ssh_node_pools,
                parse_ssh_node_pools,
                SSH_NODE_POOLS_INVALID,
                logger,
            )
        )
    return files


def _services(records: Sequence[NodeRecord], costs: Mapping[str, ServiceCosts]) -> tuple[ServiceSummary, ...]:
    by_service: dict[str, list[tuple[NodeRecord, ReplicaRecord]]] = defaultdict(list)
    for record in records:
        for replica in record.replicas:
            by_service[replica.replica.service_name].append((record, replica))
    return tuple(
        _summary(name, hosted, costs.get(name, NO_COSTS)) for name, hosted in sorted(by_service.items())
    )


def _summary(
    name: str, hosted: list[tuple[NodeRecord, ReplicaRecord]], costs: ServiceCosts
) -> ServiceSummary:
    statuses = Counter(replica.status for _, replica in hosted)
    ready = statuses[READY]
    return ServiceSummary(
        name=name,
        source=SOURCE,
        status=_READY_SERVICE if ready else _NO_READY_REPLICA,
        ready_replicas=ready,
        total_replicas=len(hosted),
        clouds=tuple(sorted({record.node.cloud for record, _ in hosted})),
        replicas_by_status=dict(statuses),
        costs=costs.costs,
        unpriced=costs.unpriced,
    )


def _endpoints(records: Sequence[NodeRecord], owns: Callable[[str], bool]) -> tuple[Endpoint, ...]:
    """Node health URLs (of the nodes the shard owns) and HTTP replicas (base URL, as SkyServe
    reports replica endpoints)."""
    found: list[Endpoint] = []
    for record in records:
        node = record.node
        if node.health_url and owns(node.name):
            found.append(Endpoint(url=node.health_url, kind="node"))
        for replica in record.replicas:
            check = replica.replica.check
            if check.is_http:
                found.append(
                    Endpoint(
                        url=check.base_url,
                        kind="replica",
                        service_name=replica.replica.service_name,
                        replica_id=replica.replica.replica_id,
                    )
                )
    return tuple(found)

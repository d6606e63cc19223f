"""The bare-metal collector's metric families, and the samples a run's records and nodes give them.

``BAREMETAL_METRICS`` is the one table docs and tests check against. The replica and cost families
are the ones every source emits (``collectors.replica_families``), so the exporter joins every
collector's samples under one header; ``source="baremetal"`` tells them apart.

Replica prices: a node's fixed price split evenly among what it hosts. A rented box costs the same
whatever runs on it and whatever state it is in, so each of its N replicas is charged 1/N of the
node's hourly price (a monthly price is spread over 730 hours first), in every status. A node
without a price leaves its replicas unpriced (``no_fixed_price``), never priced at zero.
``replica_prices`` depends only on the node set; the shared ``ReplicaCosts`` turns its answer into
the hourly, accrued and unpriced cost families every replica source emits.
"""

from collections import Counter
from collections.abc import Iterable

from collectors.baremetal.nodes import SOURCE, SPOT, Node
from collectors.baremetal.records import NodeRecord
from collectors.pricing import REPLICA_COST_SPECS, Price, PricedReplica
from collectors.replica_families import KIND_SERVICE, REPLICA_INFO, REPLICA_STATUS, REPLICAS_BY_CLOUD
from exporter.metrics import FamilyBuilder, MetricSpec, MetricTable

_NODE = ("node", "source")
_PLACEMENT = ("cloud", "region")

BAREMETAL_METRICS = MetricTable(
    specs=(
        MetricSpec(
            "skyserve_node_up",
            "gauge",
            "1 if the node passed its health check in the last run, else 0.",
            _NODE,
        ),
        MetricSpec(
            "skyserve_node_info",
            "gauge",
            "Node placement and hardware; always 1.",
            (*_NODE, *_PLACEMENT, "zone", "instance_type", "accelerator", "spot"),
        ),
        MetricSpec(
            "skyserve_node_hourly_cost_dollars",
            "gauge",
            "Hourly USD list price of the node (not billed cost); absent when it has none.",
            (*_NODE, *_PLACEMENT, "instance_type", "spot", "price_source"),
        ),
        MetricSpec(
            "skyserve_node_check_duration_seconds",
            "gauge",
            "Duration of the node's health check in the last run.",
            _NODE,
        ),
        REPLICA_INFO,
        REPLICA_STATUS,
        REPLICAS_BY_CLOUD,
        *REPLICA_COST_SPECS,
    )
)


def add_node(out: FamilyBuilder, record: NodeRecord) -> None:
    node = record.node
    ids = (node.name, SOURCE)
    out.add("skyserve_node_up", ids, 1 if record.up else 0)
    hardware = (node.instance_type, node.accelerator, SPOT)
    out.add("skyserve_node_info", (*ids, node.cloud, node.region, node.zone, *hardware), 1)
    if node.price.hourly is not None:
        labels = (*ids, node.cloud, node.region, node.instance_type, SPOT, node.price.source)
        out.add("skyserve_node_hourly_cost_dollars", labels, node.price.hourly)
    out.add("skyserve_node_check_duration_seconds", ids, record.check_seconds)


def add_replicas(out: FamilyBuilder, record: NodeRecord) -> None:
    node = record.node
    where = (node.cloud, node.region, node.zone)
    hardware = (node.instance_type, node.accelerator, SPOT)
    for replica in record.replicas:
        ids = (replica.replica.service_name, replica.replica.replica_id, SOURCE)
        # bare metal has no versions
        out.add("skyserve_replica_info", (*ids, "", *where, *hardware, KIND_SERVICE), 1)
        out.add("skyserve_replica_status", (*ids, replica.status), 1)


def add_replicas_by_cloud(out: FamilyBuilder, records: Iterable[NodeRecord]) -> None:
    groups = Counter(
        (replica.replica.service_name, record.node.cloud, record.node.region)
        for record in records
        for replica in record.replicas
    )
    for (service_name, cloud, region), count in sorted(groups.items()):
        out.add("skyserve_replicas_by_cloud", (service_name, SOURCE, cloud, region, SPOT), count)


def replica_prices(nodes: Iterable[Node]) -> tuple[PricedReplica, ...]:
    """Every hosted replica with its share of its node's price (or why it has none), in node order."""
    return tuple(
        PricedReplica(
            service_name=replica.service_name,
            replica_id=replica.replica_id,
            source=SOURCE,
            cloud=node.cloud,
            region=node.region,
            spot=False,
            price=_share(node),
        )
        for node in nodes
        for replica in node.replicas
    )


def _share(node: Node) -> Price:
    price = node.price
    if price.hourly is None:
        return price
    return Price(hourly=price.hourly / len(node.replicas), source=price.source)

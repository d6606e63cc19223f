"""The Kubernetes collector's metric families and their samples: the table, node prices, each pod's share.

``KUBERNETES_METRICS`` is the one table docs and tests check against. Replica families are the ones
every source shares (``collectors.replica_families``; ``source`` tells them apart), so one dashboard
covers all. Cost and node families have the labels and help of the shared cost families
(``collectors.pricing.replica_costs``) and of the bare-metal collector's node families.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Final

from collectors.kubernetes.records import NodeRecord, PodRecord
from collectors.kubernetes.resources import NodePlacement
from collectors.pricing import (
    INCOMPLETE_RESOURCES,
    NO_PRICE_BOOK,
    REPLICA_COST_SPECS,
    Price,
    PriceBook,
    PricedReplica,
    PriceQuery,
    unpriced,
)
from collectors.replica_families import (
    KIND_SERVICE,
    REPLICA_ACCELERATORS,
    REPLICA_INFO,
    REPLICA_LAUNCHED,
    REPLICA_STATUS,
    REPLICA_STATUSES,
    REPLICAS_BY_CLOUD,
)
from exporter.metrics import FamilyBuilder, MetricSpec, MetricTable

SOURCE: Final = "kubernetes"

__all__ = [
    "KUBERNETES_METRICS",
    "NO_REQUESTS",
    "REPLICA_STATUSES",
    "SOURCE",
    "UNKNOWN_NODE",
    "NodeKey",
    "add_nodes",
    "add_pod",
    "add_services",
    "node_query",
    "placement_of",
    "price_nodes",
    "price_replicas",
    "share",
]

KUBERNETES_METRICS = MetricTable(
    specs=(
        REPLICA_INFO,
        REPLICA_STATUS,
        REPLICA_LAUNCHED,
        REPLICA_ACCELERATORS,
        REPLICAS_BY_CLOUD,
        *REPLICA_COST_SPECS,
        MetricSpec(
            "skyserve_kubernetes_service_replicas",
            "gauge",
            "Pods of the Kubernetes service in each replica status, zeros included.",
            ("service_name", "status"),
        ),
        MetricSpec(
            "skyserve_kubernetes_pod_info",
            "gauge",
            "Where a Kubernetes replica's pod is: kubeconfig context, namespace and node (empty until "
            "scheduled); always 1.",
            ("service_name", "replica_id", "kubernetes_context", "kubernetes_namespace", "node"),
        ),
        MetricSpec(
            "skyserve_node_info",
            "gauge",
            "Node placement and hardware; always 1.",
            ("node", "source", "cloud", "region", "zone", "instance_type", "accelerator", "spot"),
        ),
        MetricSpec(
            "skyserve_node_hourly_cost_dollars",
            "gauge",
            "Hourly USD list price of the node (not billed cost); absent when it has none.",
            ("node", "source", "cloud", "region", "instance_type", "spot", "price_source"),
        ),
    )
)


# --- hourly list prices for nodes, and each pod's share of its node's price ------------------------
# A node is priced whole through the price book: its cloud, region, zone, instance type and spot
# flag (catalog clouds), or its context, capacity and accelerators (``kubernetes`` nodes, priced
# from ``pricing.kubernetes`` rates). A pod that holds resources (scheduled, not ended) costs its
# node's price times its share of the node:
#
# - its accelerator requests over the node's allocatable accelerators, when it requests any;
# - otherwise its CPU requests over the node's allocatable CPU;
# - capped at the whole node. What no selected pod requests is idle capacity: it is in
#   ``skyserve_node_hourly_cost_dollars`` but in no replica's cost.
#
# A pod with no price says why (``skyserve_unpriced_replicas``): its node's reason from the price
# book, ``unknown_node`` when its node was not listed, ``no_requests`` when it requests neither
# accelerators nor CPU, ``incomplete_resources`` when the node does not report what it can allocate.

UNKNOWN_NODE: Final = "unknown_node"
NO_REQUESTS: Final = "no_requests"

NodeKey = tuple[str, str]  # (context, node name)


def node_query(node: NodeRecord) -> PriceQuery:
    placement, capacity = node.placement, node.capacity
    devices = capacity.accelerators if placement.accelerator and capacity.accelerators > 0 else None
    return PriceQuery(
        cloud=placement.cloud,
        region=placement.region,
        zone=placement.zone,
        instance_type=placement.instance_type,
        accelerator=placement.accelerator,
        accelerators_per_node=devices,
        cpus=capacity.cpus,
        memory_gib=capacity.memory_gib,
        spot=placement.spot,
        nodes=1,
        context=node.context,
    )


def price_nodes(nodes: Iterable[NodeRecord], book: PriceBook | None) -> dict[NodeKey, Price]:
    """Each node's hourly price; nodes of one pool share a query, so each query is priced once."""
    by_query: dict[PriceQuery, Price] = {}
    prices: dict[NodeKey, Price] = {}
    for node in nodes:
        query = node_query(node)
        price = by_query.get(query)
        if price is None:
            price = by_query[query] = book.price(query) if book is not None else unpriced(NO_PRICE_BOOK)
        prices[(node.context, node.name)] = price
    return prices


def price_replicas(
    pods: Iterable[PodRecord], nodes: Mapping[NodeKey, NodeRecord], node_prices: Mapping[NodeKey, Price]
) -> tuple[PricedReplica, ...]:
    """The hourly price of every pod that holds resources: the seam cost accrual builds on."""
    costs = []
    for pod in pods:
        if not pod.holds_resources:
            continue
        key = (pod.context, pod.node_name)
        node = nodes.get(key)
        if node is None:
            missing = unpriced(UNKNOWN_NODE)
            costs.append(PricedReplica(pod.service_name, pod.replica_id, SOURCE, "", "", False, missing))
            continue
        placement = node.placement
        price = _share_of(pod, node, node_prices[key])
        costs.append(
            PricedReplica(
                pod.service_name,
                pod.replica_id,
                SOURCE,
                placement.cloud,
                placement.region,
                placement.spot,
                price,
            )
        )
    return tuple(costs)


def share(pod: PodRecord, node: NodeRecord) -> float | str:
    """The pod's fraction of the node, or the reason it has none."""
    requests, allocatable = pod.requests, node.allocatable
    if requests.accelerators > 0 and allocatable.accelerators > 0:
        return min(1.0, requests.accelerators / allocatable.accelerators)
    if requests.cpus is None or requests.cpus <= 0:
        return NO_REQUESTS if requests.accelerators <= 0 else INCOMPLETE_RESOURCES
    if allocatable.cpus is None or allocatable.cpus <= 0:
        return INCOMPLETE_RESOURCES
    return min(1.0, requests.cpus / allocatable.cpus)


def _share_of(pod: PodRecord, node: NodeRecord, node_price: Price) -> Price:
    if node_price.hourly is None:
        return node_price
    fraction = share(pod, node)
    if isinstance(fraction, str):
        return unpriced(fraction)
    return Price(hourly=node_price.hourly * fraction, source=node_price.source)


# --- Kubernetes records as the samples of the families in ``KUBERNETES_METRICS`` -------------------

_UNPLACED = NodePlacement(cloud="", region="", zone="", instance_type="", accelerator="", spot=False)


def placement_of(pod: PodRecord, nodes: Mapping[NodeKey, NodeRecord]) -> NodePlacement:
    """Where the pod runs: its node's placement, all empty until it is scheduled (or its node is unknown)."""
    node = nodes.get((pod.context, pod.node_name)) if pod.node_name else None
    return node.placement if node is not None else _UNPLACED


def add_pod(out: FamilyBuilder, pod: PodRecord, where: NodePlacement) -> None:
    ids = (pod.service_name, pod.replica_id, SOURCE)
    accelerator = where.accelerator or (pod.accelerator_hint if pod.requests.accelerators else "")
    out.add(
        "skyserve_replica_info",
        (
            *ids,
            pod.version,
            where.cloud,
            where.region,
            where.zone,
            where.instance_type,
            accelerator,
            _flag(where.spot),
            KIND_SERVICE,
        ),
        1,
    )
    out.add("skyserve_replica_status", (*ids, pod.status), 1)
    if pod.created_at is not None:
        out.add("skyserve_replica_launched_timestamp_seconds", ids, pod.created_at)
    if pod.requests.accelerators > 0:
        out.add("skyserve_replica_accelerators", (*ids, accelerator), pod.requests.accelerators)
    out.add(
        "skyserve_kubernetes_pod_info",
        (pod.service_name, pod.replica_id, pod.context, pod.namespace, pod.node_name),
        1,
    )


def add_services(out: FamilyBuilder, pods: Iterable[PodRecord], nodes: Mapping[NodeKey, NodeRecord]) -> None:
    """Per-service status counts (every status, zeros included) and replicas by placement."""
    statuses: dict[str, Counter[str]] = {}
    by_cloud: Counter[tuple[str, str, str, str]] = Counter()
    for pod in pods:
        statuses.setdefault(pod.service_name, Counter())[pod.status] += 1
        where = placement_of(pod, nodes)
        by_cloud[(pod.service_name, where.cloud, where.region, _flag(where.spot))] += 1
    for service, counts in sorted(statuses.items()):
        for status in _with_extra(REPLICA_STATUSES, counts):
            out.add("skyserve_kubernetes_service_replicas", (service, status), counts[status])
    for (service, cloud, region, spot), count in sorted(by_cloud.items()):
        out.add("skyserve_replicas_by_cloud", (service, SOURCE, cloud, region, spot), count)


def add_nodes(out: FamilyBuilder, nodes: Iterable[NodeRecord], prices: Mapping[NodeKey, Price]) -> int:
    """Node series, once per node name; returns how many nodes were left out as duplicates."""
    seen: set[str] = set()
    duplicates = 0
    for node in nodes:
        if node.name in seen:
            duplicates += 1  # the same node name in two contexts
            continue
        seen.add(node.name)
        p = node.placement
        spot = _flag(p.spot)
        info = (node.name, SOURCE, p.cloud, p.region, p.zone, p.instance_type, p.accelerator, spot)
        out.add("skyserve_node_info", info, 1)
        price = prices.get((node.context, node.name))
        if price is not None and price.hourly is not None:
            labels = (node.name, SOURCE, p.cloud, p.region, p.instance_type, spot, price.source)
            out.add("skyserve_node_hourly_cost_dollars", labels, price.hourly)
    return duplicates


def _with_extra(known: tuple[str, ...], present: Iterable[str]) -> list[str]:
    return [*known, *sorted(set(present).difference(known))]


def _flag(value: bool) -> str:
    return "true" if value else "false"

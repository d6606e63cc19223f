"""Hourly list prices for nodes, and each pod's share of its node's price.

A node is priced whole through the price book: its cloud, region, zone, instance type and spot
flag (catalog clouds), or its context, capacity and accelerators (``kubernetes`` nodes, priced
from ``pricing.kubernetes`` rates). A pod that holds resources (scheduled, not ended) costs its
node's price times its share of the node:

- its accelerator requests over the node's allocatable accelerators, when it requests any;
- otherwise its CPU requests over the node's allocatable CPU;
- capped at the whole node. What no selected pod requests is idle capacity: it is in
  ``skyserve_node_hourly_cost_dollars`` but in no replica's cost.

A pod with no price says why (``skyserve_unpriced_replicas``): its node's reason from the price
book, ``unknown_node`` when its node was not listed, ``no_requests`` when it requests neither
accelerators nor CPU, ``incomplete_resources`` when the node does not report what it can allocate.
"""

from collections.abc import Iterable, Mapping
from typing import Final

from collectors.kubernetes.metrics import SOURCE
from collectors.kubernetes.records import NodeRecord, PodRecord
from collectors.pricing import (
    INCOMPLETE_RESOURCES,
    NO_PRICE_BOOK,
    Price,
    PriceBook,
    PricedReplica,
    PriceQuery,
    unpriced,
)

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

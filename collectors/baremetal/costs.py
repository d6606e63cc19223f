"""Hourly prices of bare-metal replicas: a node's fixed price split evenly among what it hosts.

A rented box costs the same whatever runs on it and whatever state it is in, so each of its N
replicas is charged 1/N of the node's hourly price (a monthly price is spread over 730 hours
first), in every status. A node without a price leaves its replicas unpriced
(``no_fixed_price``), never priced at zero.

``replica_prices`` depends only on the node set; the shared ``ReplicaCosts`` turns its answer into
the hourly, accrued and unpriced cost families every replica source emits.
"""

from collections.abc import Iterable

from collectors.baremetal.nodes import SOURCE, Node
from collectors.pricing import Price, PricedReplica


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

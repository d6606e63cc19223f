"""Which SkyServe replicas cost money, and the price-book question for each.

A replica costs from the moment its cluster is being provisioned until it is torn down. PENDING
has no cluster yet; PREEMPTED and the FAILED* states SkyServe reports after teardown have none
left. FAILED_CLEANUP means teardown failed: the resources may well still be running and billed,
so it counts. UNKNOWN (the controller lost track) counts too: hiding a possibly running cluster
is worse than showing its price.
"""

from collections.abc import Iterable, Iterator

from collectors.pricing import NO_PRICE_BOOK, PriceBook, PricedReplica, PriceQuery, unpriced
from collectors.skyserve.metrics import SOURCE
from collectors.skyserve.records import ReplicaRecord

RESOURCE_HOLDING_STATUSES = frozenset(
    {"PROVISIONING", "STARTING", "READY", "NOT_READY", "SHUTTING_DOWN", "FAILED_CLEANUP", "UNKNOWN"}
)


def price_query(replica: ReplicaRecord) -> PriceQuery:
    placement, resources = replica.placement, replica.placement.resources
    return PriceQuery(
        cloud=placement.cloud,
        region=placement.region,
        zone=placement.zone,
        instance_type=resources.instance_type,
        accelerator=resources.accelerator,
        accelerators_per_node=resources.accelerators_per_node,
        cpus=resources.cpus,
        memory_gib=resources.memory_gib,
        spot=replica.is_spot,
        nodes=resources.nodes or 0,
    )


def priced_replicas(replicas: Iterable[ReplicaRecord], book: PriceBook | None) -> Iterator[PricedReplica]:
    """Every resource-holding replica with its price (or the reason it has none)."""
    for replica in replicas:
        if replica.status not in RESOURCE_HOLDING_STATUSES:
            continue
        price = book.price(price_query(replica)) if book is not None else unpriced(NO_PRICE_BOOK)
        yield PricedReplica(
            service_name=replica.service_name,
            replica_id=str(replica.replica_id),
            source=SOURCE,
            cloud=replica.placement.cloud,
            region=replica.placement.region,
            spot=replica.is_spot,
            price=price,
        )

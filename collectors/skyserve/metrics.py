"""The SkyServe collector's metrics: the family table, how records become samples, and which replicas cost.

``SKYSERVE_METRICS`` is the one table docs and tests check against. The ``add_*`` functions turn
parsed records into samples of its families; ``priced_replicas`` picks the replicas that hold
resources and asks the price book about each, for the cost families ``collectors.pricing`` accrues.
"""

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import partial
from operator import attrgetter

from collectors.pricing import (
    NO_PRICE_BOOK,
    REPLICA_COST_SPECS,
    CostAccrual,
    Price,
    PriceBook,
    PricedReplica,
    PriceQuery,
    unpriced,
)
from collectors.replica_families import (
    KIND_POOL,
    KIND_SERVICE,
    REPLICA_ACCELERATORS,
    REPLICA_INFO,
    REPLICA_LAUNCHED,
    REPLICA_STATUS,
    REPLICA_STATUSES,
    REPLICAS_BY_CLOUD,
)
from collectors.skyserve.records import POOL, ControllerRecord, Placement, ReplicaRecord, ServiceRecord
from collectors.skyserve.transitions import CounterSample
from exporter.metrics import FamilyBuilder, MetricSpec, MetricTable, Row
from exporter.redact import redact_url

__all__ = [
    "CONTROLLER_STATUSES",
    "REPLICA_STATUSES",
    "RESOURCE_HOLDING_STATUSES",
    "SERVICE_STATUSES",
    "SKYSERVE_METRICS",
    "SOURCE",
    "ControllerCosts",
    "add_controller",
    "add_pool",
    "add_replicas",
    "add_replicas_by_cloud",
    "add_service",
    "add_transitions",
    "price_query",
    "priced_replicas",
]

SOURCE = "skyserve"
_READY = "READY"

# sky/serve/serve_state.py, SkyPilot 0.14. Every value gets a series (zeros included) so alerts and
# dashboards see a status the moment it is entered; values the exporter does not know are added.
SERVICE_STATUSES = (
    "CONTROLLER_INIT",
    "REPLICA_INIT",
    "CONTROLLER_FAILED",
    "READY",
    "SHUTTING_DOWN",
    "FAILED",
    "FAILED_CLEANUP",
    "NO_REPLICA",
)

# sky/utils/status_lib.py ClusterStatus, SkyPilot 0.14 (the controller is a cluster). AUTOSTOPPING is
# sent only to clients of API version 29 and later (older ones get INIT); PENDING is for display.
CONTROLLER_STATUSES = ("INIT", "UP", "STOPPED", "AUTOSTOPPING", "PENDING")

# A replica costs from the moment its cluster is being provisioned until it is torn down. PENDING
# has no cluster yet; PREEMPTED and the FAILED* states SkyServe reports after teardown have none
# left. FAILED_CLEANUP means teardown failed: the resources may well still be running and billed,
# so it counts. UNKNOWN (the controller lost track) counts too: hiding a possibly running cluster
# is worse than showing its price.
RESOURCE_HOLDING_STATUSES = frozenset(
    {"PROVISIONING", "STARTING", "READY", "NOT_READY", "SHUTTING_DOWN", "FAILED_CLEANUP", "UNKNOWN"}
)

# A controller holds its cluster (and is billed for it) while INIT, UP or AUTOSTOPPING; STOPPED keeps
# only its disk, which the price book does not price, and PENDING has nothing yet.
CONTROLLER_HOLDING_STATUSES = frozenset({"INIT", "UP", "AUTOSTOPPING"})

_REPLICA = ("service_name", "replica_id", "source")
_CONTROLLER = ("controller", "kind")
_CONTROLLER_COST = (*_CONTROLLER, "cloud", "region", "price_source")
_PLACEMENT = ("service_name", "source", "cloud", "region")

SKYSERVE_METRICS = MetricTable(
    specs=(
        REPLICA_INFO,
        REPLICA_STATUS,
        REPLICA_LAUNCHED,
        REPLICA_ACCELERATORS,
        REPLICAS_BY_CLOUD,
        MetricSpec(
            "skyserve_service_info",
            "gauge",
            "SkyServe service properties; always 1.",
            ("service_name", "endpoint", "load_balancing_policy", "tls"),
        ),
        MetricSpec(
            "skyserve_service_status",
            "gauge",
            "1 for the service's current status, 0 for every other SkyServe service status.",
            ("service_name", "status"),
        ),
        MetricSpec(
            "skyserve_service_replicas",
            "gauge",
            "Replicas of the service in each status, zeros included.",
            ("service_name", "status"),
        ),
        MetricSpec(
            "skyserve_service_target_replicas",
            "gauge",
            "Replicas the autoscaler currently aims for; absent when SkyServe does not report it.",
            ("service_name",),
        ),
        MetricSpec(
            "skyserve_service_version",
            "gauge",
            "Latest version of the service.",
            ("service_name",),
        ),
        MetricSpec(
            "skyserve_service_ready_since_timestamp_seconds",
            "gauge",
            "Unix time the service first became READY (SkyServe's uptime field); absent before that.",
            ("service_name",),
        ),
        MetricSpec(
            "skyserve_replica_nodes",
            "gauge",
            "Nodes in the replica's cluster; absent until it has resources.",
            _REPLICA,
        ),
        MetricSpec(
            "skyserve_replica_preemptions_total",
            "counter",
            "Replica transitions into PREEMPTED observed between polls since the exporter started.",
            _PLACEMENT,
        ),
        MetricSpec(
            "skyserve_replica_failures_total",
            "counter",
            "Replica failure episodes (transitions into a FAILED* status) observed between polls since the "
            "exporter started.",
            _PLACEMENT,
        ),
        MetricSpec(
            "skyserve_controller_status",
            "gauge",
            "1 for the controller cluster's current status, 0 for every other cluster status; kind is "
            "serve (SkyServe's) or jobs (managed jobs' and pools'); absent while there is no such "
            "controller or its status could not be read.",
            (*_CONTROLLER, "status"),
        ),
        MetricSpec(
            "skyserve_controller_info",
            "gauge",
            "The controller cluster's placement and hardware; always 1.",
            (*_CONTROLLER, "cloud", "region", "instance_type", "accelerator"),
        ),
        MetricSpec(
            "skyserve_controller_hourly_cost_dollars",
            "gauge",
            "USD list price per hour of the controller cluster while it holds resources (INIT, UP, "
            "AUTOSTOPPING); absent when it cannot be priced.",
            _CONTROLLER_COST,
        ),
        MetricSpec(
            "skyserve_controller_cost_dollars_total",
            "counter",
            "USD list price accrued by the controller cluster since the exporter started, integrated "
            "over the time between collections and not across stale gaps.",
            _CONTROLLER_COST,
        ),
        MetricSpec(
            "skyserve_pool_status",
            "gauge",
            "1 for the jobs pool's current status, 0 for every other status (a pool's statuses are a "
            "service's); service_name is the pool's name.",
            ("service_name", "status"),
        ),
        MetricSpec(
            "skyserve_pool_workers",
            "gauge",
            "Workers of the jobs pool in each status, zeros included.",
            ("service_name", "status"),
        ),
        MetricSpec(
            "skyserve_pool_target_workers",
            "gauge",
            "Workers the pool's autoscaler currently aims for; absent when SkyPilot does not report it.",
            ("service_name",),
        ),
        MetricSpec(
            "skyserve_pool_busy_workers",
            "gauge",
            "Workers of the pool running at least one managed job now (used_by not empty).",
            ("service_name",),
        ),
        MetricSpec(
            "skyserve_pool_idle_hourly_cost_dollars",
            "gauge",
            "USD list price per hour of the pool's READY workers running no job (unpriced ones left "
            "out: see skyserve_unpriced_replicas).",
            ("service_name",),
        ),
        *REPLICA_COST_SPECS,
    )
)


# Getters in C: a fleet's replicas are counted per service several times a collection.
STATUS_OF = attrgetter("status")
CLOUD_OF = attrgetter("placement.cloud")
_WHERE = attrgetter("placement.cloud", "placement.region", "is_spot")


def add_service(out: FamilyBuilder, service: ServiceRecord) -> None:
    name = service.name
    endpoint = redact_url(service.endpoint) if service.endpoint else ""
    out.add(
        "skyserve_service_info",
        (name, endpoint, service.load_balancing_policy, _flag(service.tls_encrypted)),
        1,
    )
    for status in _with_extra(SERVICE_STATUSES, [service.status]):
        out.add("skyserve_service_status", (name, status), 1 if status == service.status else 0)
    counts = Counter(map(STATUS_OF, service.replicas))
    for status in _with_extra(REPLICA_STATUSES, counts):
        out.add("skyserve_service_replicas", (name, status), counts[status])
    if service.target_num_replicas is not None:
        out.add("skyserve_service_target_replicas", (name,), service.target_num_replicas)
    if service.version is not None:
        out.add("skyserve_service_version", (name,), service.version)
    if service.ready_since is not None:
        out.add("skyserve_service_ready_since_timestamp_seconds", (name,), service.ready_since)


def add_pool(out: FamilyBuilder, pool: ServiceRecord, hourly: Mapping[tuple[str, str], float]) -> None:
    """A pool's own families; ``hourly``: the priced replicas' prices by (service_name, replica_id)."""
    name = pool.name
    for status in _with_extra(SERVICE_STATUSES, [pool.status]):
        out.add("skyserve_pool_status", (name, status), 1 if status == pool.status else 0)
    counts = Counter(worker.status for worker in pool.replicas)
    for status in _with_extra(REPLICA_STATUSES, counts):
        out.add("skyserve_pool_workers", (name, status), counts[status])
    if pool.target_num_replicas is not None:
        out.add("skyserve_pool_target_workers", (name,), pool.target_num_replicas)
    out.add("skyserve_pool_busy_workers", (name,), sum(1 for worker in pool.replicas if worker.used_by))
    idle = sum(
        hourly.get((name, str(worker.replica_id)), 0.0)
        for worker in pool.replicas
        if worker.status == _READY and not worker.used_by
    )
    out.add("skyserve_pool_idle_hourly_cost_dollars", (name,), idle)


def add_controller(out: FamilyBuilder, controller: ControllerRecord) -> None:
    ids = (controller.name, controller.kind)
    for status in _with_extra(CONTROLLER_STATUSES, [controller.status]):
        out.add("skyserve_controller_status", (*ids, status), 1 if status == controller.status else 0)
    placement, resources = controller.placement, controller.placement.resources
    out.add(
        "skyserve_controller_info",
        (*ids, placement.cloud, placement.region, resources.instance_type, resources.accelerator),
        1,
    )


class ControllerCosts:
    """The controllers' hourly and accrued cost; owns the accrued totals, so keep one per collector."""

    def __init__(self, stale_after: float) -> None:
        self._accrual: CostAccrual[tuple[str, ...]] = CostAccrual(stale_after)

    def add(
        self, out: FamilyBuilder, now: float, controllers: Iterable[ControllerRecord], book: PriceBook | None
    ) -> dict[str, tuple[str, float]]:
        """Adds the cost samples; returns each priced controller's (cloud, hourly price) by name."""
        hourly: dict[tuple[str, ...], float] = {}
        for controller in controllers:
            if controller.status not in CONTROLLER_HOLDING_STATUSES or book is None:
                continue
            price = book.price(controller_price_query(controller))
            if price.hourly is None:
                continue
            placement = controller.placement
            labels: tuple[str, ...] = (
                controller.name,
                controller.kind,
                placement.cloud,
                placement.region,
                price.source,
            )
            hourly[labels] = price.hourly
        totals = self._accrual.observe(now, hourly)
        for labels, rate in hourly.items():
            out.add("skyserve_controller_hourly_cost_dollars", labels, rate)
            out.add("skyserve_controller_cost_dollars_total", labels, totals[labels])
        return {labels[0]: (labels[2], rate) for labels, rate in hourly.items()}


def controller_price_query(controller: ControllerRecord) -> PriceQuery:
    # A controller is a cluster of at least one node, priced as it was launched.
    placement = controller.placement
    return _placement_query(placement, spot=placement.resources.spot, nodes=placement.resources.nodes or 1)


def add_replicas(out: FamilyBuilder, group: ServiceRecord) -> None:
    """Each replica's own families, written from the records when the families are encoded: a
    fleet of 100k replicas keeps no row per sample in between. These lines depend on the
    service's record alone, so the record is their key: a service unchanged since the last poll
    (the same record, ``memo.ServiceMemo``) has its lines taken from the last encoding."""
    replicas = group.replicas
    out.add_rows("skyserve_replica_info", partial(_info_rows, replicas), key=group)
    out.add_rows("skyserve_replica_status", partial(_status_rows, replicas), key=group)
    out.add_rows("skyserve_replica_launched_timestamp_seconds", partial(_launched_rows, replicas), key=group)
    out.add_rows("skyserve_replica_nodes", partial(_nodes_rows, replicas), key=group)
    out.add_rows("skyserve_replica_accelerators", partial(_accelerator_rows, replicas), key=group)


def _info_rows(replicas: Sequence[ReplicaRecord]) -> Iterator[Row]:
    for replica in replicas:
        placement, resources = replica.placement, replica.placement.resources
        labels = (
            replica.service_name,
            str(replica.replica_id),
            SOURCE,
            "" if replica.version is None else str(replica.version),
            placement.cloud,
            placement.region,
            placement.zone,
            resources.instance_type,
            resources.accelerator,
            _flag(replica.is_spot),
            KIND_POOL if replica.kind == POOL else KIND_SERVICE,
        )
        yield labels, 1


def _status_rows(replicas: Sequence[ReplicaRecord]) -> Iterator[Row]:
    for replica in replicas:
        yield (replica.service_name, str(replica.replica_id), SOURCE, replica.status), 1


def _launched_rows(replicas: Sequence[ReplicaRecord]) -> Iterator[Row]:
    for replica in replicas:
        if replica.launched_at is not None:
            yield (replica.service_name, str(replica.replica_id), SOURCE), replica.launched_at


def _nodes_rows(replicas: Sequence[ReplicaRecord]) -> Iterator[Row]:
    for replica in replicas:
        nodes = replica.placement.resources.nodes
        if nodes is not None:
            yield (replica.service_name, str(replica.replica_id), SOURCE), nodes


def _accelerator_rows(replicas: Sequence[ReplicaRecord]) -> Iterator[Row]:
    for replica in replicas:
        accelerators = replica.placement.accelerators_total
        if accelerators:
            ids = (replica.service_name, str(replica.replica_id), SOURCE)
            yield (*ids, replica.placement.resources.accelerator), accelerators


def add_replicas_by_cloud(out: FamilyBuilder, service: ServiceRecord) -> None:
    groups = Counter(map(_WHERE, service.replicas))
    for (cloud, region, spot), count in sorted(groups.items()):
        out.add("skyserve_replicas_by_cloud", (service.name, SOURCE, cloud, region, _flag(spot)), count)


def add_transitions(out: FamilyBuilder, samples: Iterable[CounterSample]) -> None:
    for sample in samples:
        labels = (sample.service_name, SOURCE, sample.cloud, sample.region)
        out.add("skyserve_replica_preemptions_total", labels, sample.preemptions)
        out.add("skyserve_replica_failures_total", labels, sample.failures)


def price_query(replica: ReplicaRecord) -> PriceQuery:
    return _placement_query(
        replica.placement, spot=replica.is_spot, nodes=replica.placement.resources.nodes or 0
    )


def _placement_query(placement: Placement, *, spot: bool, nodes: int) -> PriceQuery:
    """The price book's question for whatever runs on ``placement``: a replica or a controller."""
    resources = placement.resources
    return PriceQuery(
        cloud=placement.cloud,
        region=placement.region,
        zone=placement.zone,
        instance_type=resources.instance_type,
        accelerator=resources.accelerator,
        accelerators_per_node=resources.accelerators_per_node,
        cpus=resources.cpus,
        memory_gib=resources.memory_gib,
        spot=spot,
        nodes=nodes,
    )


def priced_replicas(replicas: Iterable[ReplicaRecord], book: PriceBook | None) -> Iterator[PricedReplica]:
    """Every resource-holding replica with its price (or the reason it has none)."""
    # Replicas placed alike share one Placement (the parser reads each placement once), so a
    # fleet's price questions are few: each is asked of the book once per build.
    asked: dict[tuple[int, bool], Price] = {}
    for replica in replicas:
        if replica.status not in RESOURCE_HOLDING_STATUSES:
            continue
        key = (id(replica.placement), replica.is_spot)
        price = asked.get(key)
        if price is None:
            price = book.price(price_query(replica)) if book is not None else unpriced(NO_PRICE_BOOK)
            asked[key] = price
        yield PricedReplica(
            service_name=replica.service_name,
            replica_id=str(replica.replica_id),
            source=SOURCE,
            cloud=replica.placement.cloud,
            region=replica.placement.region,
            spot=replica.is_spot,
            price=price,
        )


def _with_extra(known: tuple[str, ...], present: Iterable[str]) -> list[str]:
    """The known statuses, then any others present (sorted): new upstream values are exported as-is."""
    return [*known, *sorted(set(present).difference(known))]


def _flag(value: bool) -> str:
    return "true" if value else "false"

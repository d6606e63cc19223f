"""The SkyServe collector's metrics: the family table, how records become samples, and which replicas cost.

``SKYSERVE_METRICS`` is the one table docs and tests check against. The ``add_*`` functions turn
parsed records into samples of its families; ``priced_replicas`` picks the replicas that hold
resources and asks the price book about each, for the cost families ``collectors.pricing`` accrues.
"""

from collections import Counter
from collections.abc import Iterable, Iterator

from collectors.pricing import (
    NO_PRICE_BOOK,
    REPLICA_COST_SPECS,
    PriceBook,
    PricedReplica,
    PriceQuery,
    unpriced,
)
from collectors.replica_families import (
    REPLICA_ACCELERATORS,
    REPLICA_INFO,
    REPLICA_LAUNCHED,
    REPLICA_STATUS,
    REPLICA_STATUSES,
    REPLICAS_BY_CLOUD,
)
from collectors.skyserve.records import ControllerRecord, ReplicaRecord, ServiceRecord
from collectors.skyserve.transitions import CounterSample
from exporter.metrics import FamilyBuilder, MetricSpec, MetricTable
from exporter.redact import redact_url

__all__ = [
    "CONTROLLER_STATUSES",
    "REPLICA_STATUSES",
    "RESOURCE_HOLDING_STATUSES",
    "SERVICE_STATUSES",
    "SKYSERVE_METRICS",
    "SOURCE",
    "add_controller",
    "add_replica",
    "add_replicas_by_cloud",
    "add_service",
    "add_transitions",
    "price_query",
    "priced_replicas",
]

SOURCE = "skyserve"

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

_REPLICA = ("service_name", "replica_id", "source")
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
            "1 for the SkyServe controller cluster's current status, 0 for every other cluster status; "
            "absent while there is no controller cluster or its status could not be read.",
            ("controller", "status"),
        ),
        *REPLICA_COST_SPECS,
    )
)


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
    counts = Counter(replica.status for replica in service.replicas)
    for status in _with_extra(REPLICA_STATUSES, counts):
        out.add("skyserve_service_replicas", (name, status), counts[status])
    if service.target_num_replicas is not None:
        out.add("skyserve_service_target_replicas", (name,), service.target_num_replicas)
    if service.version is not None:
        out.add("skyserve_service_version", (name,), service.version)
    if service.ready_since is not None:
        out.add("skyserve_service_ready_since_timestamp_seconds", (name,), service.ready_since)


def add_controller(out: FamilyBuilder, controller: ControllerRecord) -> None:
    for status in _with_extra(CONTROLLER_STATUSES, [controller.status]):
        out.add(
            "skyserve_controller_status", (controller.name, status), 1 if status == controller.status else 0
        )


def add_replica(out: FamilyBuilder, replica: ReplicaRecord) -> None:
    ids = (replica.service_name, str(replica.replica_id), SOURCE)
    placement, resources = replica.placement, replica.placement.resources
    version = "" if replica.version is None else str(replica.version)
    where = (placement.cloud, placement.region, placement.zone)
    hardware = (resources.instance_type, resources.accelerator, _flag(replica.is_spot))
    out.add("skyserve_replica_info", (*ids, version, *where, *hardware), 1)
    out.add("skyserve_replica_status", (*ids, replica.status), 1)
    if replica.launched_at is not None:
        out.add("skyserve_replica_launched_timestamp_seconds", ids, replica.launched_at)
    if resources.nodes is not None:
        out.add("skyserve_replica_nodes", ids, resources.nodes)
    accelerators = placement.accelerators_total
    if accelerators:
        out.add("skyserve_replica_accelerators", (*ids, resources.accelerator), accelerators)


def add_replicas_by_cloud(out: FamilyBuilder, service: ServiceRecord) -> None:
    groups = Counter(
        (replica.placement.cloud, replica.placement.region, _flag(replica.is_spot))
        for replica in service.replicas
    )
    for (cloud, region, spot), count in sorted(groups.items()):
        out.add("skyserve_replicas_by_cloud", (service.name, SOURCE, cloud, region, spot), count)


def add_transitions(out: FamilyBuilder, samples: Iterable[CounterSample]) -> None:
    for sample in samples:
        labels = (sample.service_name, SOURCE, sample.cloud, sample.region)
        out.add("skyserve_replica_preemptions_total", labels, sample.preemptions)
        out.add("skyserve_replica_failures_total", labels, sample.failures)


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


def _with_extra(known: tuple[str, ...], present: Iterable[str]) -> list[str]:
    """The known statuses, then any others present (sorted): new upstream values are exported as-is."""
    return [*known, *sorted(set(present).difference(known))]


def _flag(value: bool) -> str:
    return "true" if value else "false"

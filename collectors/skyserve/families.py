"""Turning parsed SkyServe records into the samples of the families in ``metrics.SKYSERVE_METRICS``."""

from collections import Counter
from collections.abc import Iterable

from collectors.replica_families import REPLICA_STATUSES
from collectors.skyserve.metrics import SERVICE_STATUSES, SOURCE
from collectors.skyserve.records import ReplicaRecord, ServiceRecord
from collectors.skyserve.transitions import CounterSample
from exporter.metrics import FamilyBuilder
from exporter.redact import redact_url


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


def _with_extra(known: tuple[str, ...], present: Iterable[str]) -> list[str]:
    """The known statuses, then any others present (sorted): new upstream values are exported as-is."""
    return [*known, *sorted(set(present).difference(known))]


def _flag(value: bool) -> str:
    return "true" if value else "false"

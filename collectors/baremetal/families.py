"""Turning a run's records into the samples of the families in ``metrics.BAREMETAL_METRICS``."""

from collections import Counter
from collections.abc import Iterable

from collectors.baremetal.nodes import SOURCE, SPOT
from collectors.baremetal.records import NodeRecord
from exporter.metrics import FamilyBuilder


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
        out.add("skyserve_replica_info", (*ids, "", *where, *hardware), 1)  # bare metal has no versions
        out.add("skyserve_replica_status", (*ids, replica.status), 1)


def add_replicas_by_cloud(out: FamilyBuilder, records: Iterable[NodeRecord]) -> None:
    groups = Counter(
        (replica.replica.service_name, record.node.cloud, record.node.region)
        for record in records
        for replica in record.replicas
    )
    for (service_name, cloud, region), count in sorted(groups.items()):
        out.add("skyserve_replicas_by_cloud", (service_name, SOURCE, cloud, region, SPOT), count)

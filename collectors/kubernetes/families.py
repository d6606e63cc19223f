"""Turning Kubernetes records into the samples of the families in ``metrics.KUBERNETES_METRICS``."""

from collections import Counter
from collections.abc import Iterable, Mapping

from collectors.kubernetes.cost import NodeKey
from collectors.kubernetes.metrics import REPLICA_STATUSES, SOURCE
from collectors.kubernetes.placement import NodePlacement
from collectors.kubernetes.records import NodeRecord, PodRecord
from collectors.pricing import Price
from exporter.metrics import FamilyBuilder

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

"""Listed pods and nodes as typed records: which service a pod serves, its replica status, its node.

A malformed object is skipped and counted, never fatal. So is one with a label text that cannot be
written as UTF-8 (JSON lets a lone surrogate such as ``\\ud800`` through): it would fail the whole
exposition, not just its own series.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeGuard

from collectors.kubernetes.config import SKYPILOT_CLUSTER_LABEL
from collectors.kubernetes.resources import (
    Amounts,
    NodePlacement,
    node_accelerator,
    node_amounts,
    node_placement,
    pod_requests,
)
from exporter.sharding import UNKEYED, UNSHARDED, Shard
from exporter.upstream import encodable

if TYPE_CHECKING:
    from collectors.kubernetes.client import ContextListing

INVALID_POD: Final = "invalid_pod"
NO_SERVICE_NAME: Final = "no_service_name"
DUPLICATE_POD: Final = "duplicate_pod"
INVALID_NODE: Final = "invalid_node"
DUPLICATE_NODE: Final = "duplicate_node"
BAD_ENCODING: Final = "bad_encoding"
NOT_OWNED: Final = "not_owned"  # another shard's pod (exporter.sharding): left out, not skipped

# A tuple, not a set: a malformed phase (a list, say) must compare unequal, not raise.
_ENDED_PHASES: Final = ("Failed", "Succeeded")


@dataclass(frozen=True, slots=True)
class NodeRecord:
    context: str
    name: str
    placement: NodePlacement
    capacity: Amounts
    allocatable: Amounts


@dataclass(frozen=True, slots=True)
class PodRecord:
    context: str
    namespace: str
    name: str
    replica_id: str  # the pod name; context/namespace/name when that name is not unique (see parse_cluster)
    service_name: str
    version: str
    status: str
    node_name: str  # "" until scheduled
    created_at: float | None
    requests: Amounts
    holds_resources: bool  # scheduled and not ended: it occupies (part of) its node
    accelerator_hint: str  # from the pod's nodeSelector, for pods not scheduled yet


@dataclass(frozen=True)
class Cluster:
    """Every cluster's pods (unique by service and replica id) and nodes (by context and name)."""

    pods: tuple[PodRecord, ...]
    nodes: Mapping[tuple[str, str], NodeRecord]
    skipped: Mapping[str, int]


@dataclass(frozen=True)
class PodRules:
    service_label: str
    include_skypilot: bool


def parse_cluster(listings: Iterable["ContextListing"], rules: PodRules, shard: Shard = UNSHARDED) -> Cluster:
    """Records for every listing; a pod name that two pods of one service share (a StatefulSet in two
    clusters or namespaces) becomes ``<context>/<namespace>/<name>`` for each of them, so both are
    exported and neither series is ambiguous.

    Sharded, only the pods of services ``shard`` owns are kept, and a skipped record is counted by
    the shard that owns its service or node (``UNKEYED``'s when it has neither); every node is
    kept, since a pod is placed and priced by its node whichever shard owns the node."""
    skipped: Counter[str] = Counter()
    pods: dict[tuple[str, str, str], PodRecord] = {}
    nodes: dict[tuple[str, str], NodeRecord] = {}
    owns = shard.owner()
    for listing in listings:
        for raw in listing.nodes:
            node = parse_node(raw, listing.context)
            if node is None:
                skipped[INVALID_NODE] += owns(UNKEYED)
            elif not _node_encodable(node):
                # Its pods are still exported, as pods on a node not listed are: unplaced.
                skipped[BAD_ENCODING] += owns(node.name)
            else:
                nodes[(node.context, node.name)] = node
        for raw in listing.pods:
            _add_pod(pods, raw, listing.context, rules, skipped, owns=owns)
    return Cluster(pods=_unique_ids(pods.values()), nodes=nodes, skipped=dict(+skipped))


def _add_pod(
    pods: dict[tuple[str, str, str], PodRecord],
    raw: Any,
    context: str,
    rules: PodRules,
    skipped: Counter[str],
    *,
    owns: Callable[[str], bool],
) -> None:
    labels = _labels(_dict(_dict(raw).get("metadata")).get("labels"))
    if not rules.include_skypilot and SKYPILOT_CLUSTER_LABEL in labels:
        return  # a SkyServe replica already; the selector keeps these out on a real API server
    pod = parse_pod(raw, context, rules.service_label, owns)
    if isinstance(pod, str):
        # Without a service there is no owner but UNKEYED's; a bad encoding is its service's.
        if pod in (INVALID_POD, NO_SERVICE_NAME):
            skipped[pod] += owns(UNKEYED)
        elif pod != NOT_OWNED:
            skipped[pod] += 1
        return
    key = (pod.context, pod.namespace, pod.name)
    if key in pods:
        skipped[DUPLICATE_POD] += 1  # the same pod twice in one listing: a broken page, not ours to guess
        return
    pods[key] = pod


def _unique_ids(pods: Iterable[PodRecord]) -> tuple[PodRecord, ...]:
    pods = tuple(pods)
    seen = Counter((pod.service_name, pod.name) for pod in pods)
    return tuple(
        replace(pod, replica_id=f"{pod.context}/{pod.namespace}/{pod.name}")
        if seen[(pod.service_name, pod.name)] > 1
        else pod
        for pod in pods
    )


def parse_pod(
    raw: Any, context: str, service_label: str, owns: Callable[[str], bool] | None = None
) -> PodRecord | str:
    """The record, or the skip reason; ``NOT_OWNED`` as soon as its service is known when ``owns``
    says another shard serves it, before the rest of the pod is read."""
    metadata = _dict(raw.get("metadata")) if isinstance(raw, dict) else None
    if metadata is None:
        return INVALID_POD
    name, namespace, labels = metadata.get("name"), metadata.get("namespace"), metadata.get("labels") or {}
    if not _text(name) or not _text(namespace) or not _is_labels(labels):
        return INVALID_POD
    service = service_name(labels, metadata.get("ownerReferences"), service_label)
    if not service:
        return NO_SERVICE_NAME
    if owns is not None and not owns(service):
        return NOT_OWNED
    spec, status = _dict(raw.get("spec")), _dict(raw.get("status"))
    node_name = spec.get("nodeName")
    node_name = node_name if _text(node_name) else ""
    version = labels.get(VERSION_LABEL, "")
    accelerator_hint = node_accelerator(_labels(spec.get("nodeSelector")))
    # The texts that become label values (the context comes from our own config).
    if not _all_encodable(name, namespace, service, version, node_name, accelerator_hint):
        return BAD_ENCODING
    return PodRecord(
        context=context,
        namespace=namespace,
        name=name,
        replica_id=name,
        service_name=service,
        version=version,
        status=pod_status(raw),
        node_name=node_name,
        created_at=_timestamp(metadata.get("creationTimestamp")),
        requests=pod_requests(spec),
        holds_resources=bool(node_name) and status.get("phase") not in _ENDED_PHASES,
        accelerator_hint=accelerator_hint,
    )


def parse_node(raw: Any, context: str) -> NodeRecord | None:
    metadata = _dict(raw.get("metadata")) if isinstance(raw, dict) else None
    if metadata is None:
        return None
    name, labels = metadata.get("name"), metadata.get("labels") or {}
    if not _text(name) or not _is_labels(labels):
        return None
    spec, status = _dict(raw.get("spec")), _dict(raw.get("status"))
    provider_id = spec.get("providerID")
    return NodeRecord(
        context=context,
        name=name,
        placement=node_placement(labels, provider_id if isinstance(provider_id, str) else "", context),
        capacity=node_amounts(status.get("capacity")),
        allocatable=node_amounts(status.get("allocatable")),
    )


def _node_encodable(node: NodeRecord) -> bool:
    where = node.placement
    return _all_encodable(node.name, where.region, where.zone, where.instance_type, where.accelerator)


def _all_encodable(*texts: str) -> bool:
    return all(encodable(text) for text in texts)


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


# --- which service a pod serves: the configured label, else the workload that owns it --------------
# The owner is the controlling ``ownerReference``: a StatefulSet (or any other controller) by its
# name, a ReplicaSet by its Deployment's name, i.e. without the ``-<pod-template-hash>`` suffix.

POD_TEMPLATE_HASH_LABEL: Final = "pod-template-hash"
VERSION_LABEL: Final = "app.kubernetes.io/version"


def service_name(labels: Mapping[str, str], owners: Any, service_label: str) -> str:
    """The service name, or "" when neither the label nor an owner names one."""
    name = labels.get(service_label, "").strip()
    if name:
        return name
    owner = _controller(owners)
    if owner is None:
        return ""
    kind, owner_name = owner
    if kind == "ReplicaSet":
        return deployment_of(owner_name, labels.get(POD_TEMPLATE_HASH_LABEL, ""))
    return owner_name


def deployment_of(replica_set: str, template_hash: str) -> str:
    """``llama-7d9f8b6c5`` -> ``llama``; a ReplicaSet not made by a Deployment keeps its name."""
    if template_hash and replica_set.endswith(f"-{template_hash}"):
        return replica_set.removesuffix(f"-{template_hash}")
    return replica_set


def _controller(owners: Any) -> tuple[str, str] | None:
    if not isinstance(owners, list):
        return None
    found = [o for o in owners if isinstance(o, dict) and isinstance(o.get("name"), str) and o["name"]]
    chosen = next((o for o in found if o.get("controller") is True), found[0] if found else None)
    if chosen is None:
        return None
    kind = chosen.get("kind")
    return (kind if isinstance(kind, str) else "", chosen["name"])


# --- a pod's state in SkyServe's ReplicaStatus vocabulary; the first matching row wins -------------
# 1. PREEMPTED: evicted or preempted; ``status.reason`` in ``PREEMPTED_REASONS``, or a
#    ``DisruptionTarget`` condition whose reason is in ``PREEMPTED_DISRUPTIONS``.
# 2. SHUTTING_DOWN: ``metadata.deletionTimestamp`` is set.
# 3. FAILED: phase ``Failed`` or ``Succeeded`` (a serving pod that exited is not serving), or a
#    container or init container waiting in one of ``FAILED_WAITING_REASONS`` (CrashLoopBackOff,
#    image pull and container config errors).
# 4. PENDING: phase ``Pending`` and not scheduled (no ``spec.nodeName``).
# 5. STARTING: phase ``Pending`` and scheduled (pulling images, init containers, containers creating).
# 6. READY: phase ``Running`` and condition ``Ready`` is ``True``.
# 7. STARTING: phase ``Running``, not ready, and a container not ``started`` yet (startup probe).
# 8. NOT_READY: phase ``Running`` and not ready.
# 9. UNKNOWN: phase ``Unknown`` (the node stopped reporting), or anything else.
#
# PROVISIONING, FAILED_INITIAL_DELAY, FAILED_PROBING, FAILED_PROVISION and FAILED_CLEANUP have no
# Kubernetes counterpart and are never produced.

PENDING: Final = "PENDING"
STARTING: Final = "STARTING"
READY: Final = "READY"
NOT_READY: Final = "NOT_READY"
SHUTTING_DOWN: Final = "SHUTTING_DOWN"
FAILED: Final = "FAILED"
PREEMPTED: Final = "PREEMPTED"
UNKNOWN: Final = "UNKNOWN"

# status.reason the kubelet sets when it evicts a pod (node pressure), preempts it for a critical
# pod, or kills it because the node shuts down (GKE spot/preemptible reclaim: "Terminated").
PREEMPTED_REASONS: Final = frozenset({"Evicted", "Preempting", "NodeShutdown", "Shutdown", "Terminated"})
# DisruptionTarget condition reasons (Kubernetes >= 1.26) for disruptions the workload did not ask
# for; EvictionByEvictionAPI (a drain) is a voluntary shutdown, not a preemption.
PREEMPTED_DISRUPTIONS: Final = frozenset(
    {"PreemptionByScheduler", "TerminationByKubelet", "DeletionByTaintManager", "DeletionByPodGC"}
)
FAILED_WAITING_REASONS: Final = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


def pod_status(pod: Mapping[str, Any]) -> str:
    """The replica status of a pod (a dict shaped like the API's Pod; missing parts are tolerated)."""
    metadata, spec, status = _dict(pod.get("metadata")), _dict(pod.get("spec")), _dict(pod.get("status"))
    phase = status.get("phase")
    if _preempted(status):
        return PREEMPTED
    if metadata.get("deletionTimestamp"):
        return SHUTTING_DOWN
    if phase in _ENDED_PHASES or _failing_containers(status):
        return FAILED
    if phase == "Pending":
        return STARTING if spec.get("nodeName") else PENDING
    if phase == "Running":
        if _condition(status, "Ready") == "True":
            return READY
        return STARTING if _not_started(status) else NOT_READY
    return UNKNOWN


def _preempted(status: Mapping[str, Any]) -> bool:
    if status.get("reason") in PREEMPTED_REASONS:
        return True
    for condition in _list(status.get("conditions")):
        if (
            isinstance(condition, dict)
            and condition.get("type") == "DisruptionTarget"
            and condition.get("status") == "True"
            and condition.get("reason") in PREEMPTED_DISRUPTIONS
        ):
            return True
    return False


def _failing_containers(status: Mapping[str, Any]) -> bool:
    for key in ("initContainerStatuses", "containerStatuses"):
        for container in _list(status.get(key)):
            waiting = _dict(_dict(_dict(container).get("state")).get("waiting"))
            if waiting.get("reason") in FAILED_WAITING_REASONS:
                return True
    return False


def _not_started(status: Mapping[str, Any]) -> bool:
    return any(_dict(c).get("started") is False for c in _list(status.get("containerStatuses")))


def _condition(status: Mapping[str, Any], kind: str) -> str | None:
    for condition in _list(status.get("conditions")):
        if isinstance(condition, dict) and condition.get("type") == kind:
            value = condition.get("status")
            return value if isinstance(value, str) else None
    return None


def _is_labels(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _labels(value: Any) -> Mapping[str, str]:
    return value if _is_labels(value) else {}


def _text(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []

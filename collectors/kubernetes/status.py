"""A pod's state in SkyServe's ReplicaStatus vocabulary; the first matching row wins.

1. PREEMPTED: evicted or preempted; ``status.reason`` in ``PREEMPTED_REASONS``, or a
   ``DisruptionTarget`` condition whose reason is in ``PREEMPTED_DISRUPTIONS``.
2. SHUTTING_DOWN: ``metadata.deletionTimestamp`` is set.
3. FAILED: phase ``Failed`` or ``Succeeded`` (a serving pod that exited is not serving), or a
   container or init container waiting in one of ``FAILED_WAITING_REASONS`` (CrashLoopBackOff,
   image pull and container config errors).
4. PENDING: phase ``Pending`` and not scheduled (no ``spec.nodeName``).
5. STARTING: phase ``Pending`` and scheduled (pulling images, init containers, containers creating).
6. READY: phase ``Running`` and condition ``Ready`` is ``True``.
7. STARTING: phase ``Running``, not ready, and a container not ``started`` yet (startup probe).
8. NOT_READY: phase ``Running`` and not ready.
9. UNKNOWN: phase ``Unknown`` (the node stopped reporting), or anything else.

PROVISIONING, FAILED_INITIAL_DELAY, FAILED_PROBING, FAILED_PROVISION and FAILED_CLEANUP have no
Kubernetes counterpart and are never produced.
"""

from collections.abc import Mapping
from typing import Any, Final

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
    if phase in ("Failed", "Succeeded") or _failing_containers(status):
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


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []

"""Every row of the pod -> ReplicaStatus table, on pods shaped like the API server's."""

from typing import Any

import pytest

from collectors.kubernetes.metrics import REPLICA_STATUSES
from collectors.kubernetes.status import pod_status
from tests.unit.kubernetes.fixtures import pod

_UNSCHEDULABLE = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]
_NOT_STARTED = [{"name": "server", "ready": False, "started": False, "state": {"running": {}}}]
_INIT = "initContainerStatuses"


def _waiting(reason: str, key: str = "containerStatuses") -> dict[str, Any]:
    return {
        key: [{"name": "server", "ready": False, "started": False, "state": {"waiting": {"reason": reason}}}]
    }


def _disruption(reason: str) -> dict[str, Any]:
    return {"conditions": [{"type": "DisruptionTarget", "status": "True", "reason": reason}]}


def _deleting(raw: dict[str, Any]) -> dict[str, Any]:
    raw["metadata"]["deletionTimestamp"] = "2026-11-28T11:00:00Z"
    return raw


CASES = [
    ("unscheduled", pod(node="", phase="Pending", ready=False, containerStatuses=[]), "PENDING"),
    (
        "unschedulable",
        pod(node="", phase="Pending", ready=False, conditions=_UNSCHEDULABLE),
        "PENDING",
    ),
    (
        "scheduled, containers creating",
        pod(phase="Pending", ready=False, **_waiting("ContainerCreating")),
        "STARTING",
    ),
    (
        "scheduled, init containers",
        pod(phase="Pending", ready=False, **_waiting("PodInitializing", _INIT)),
        "STARTING",
    ),
    ("running and ready", pod(), "READY"),
    ("running, not ready", pod(ready=False), "NOT_READY"),
    (
        "running, startup probe pending",
        pod(ready=False, containerStatuses=_NOT_STARTED),
        "STARTING",
    ),
    ("crash loop", pod(ready=False, **_waiting("CrashLoopBackOff")), "FAILED"),
    (
        "init container crash loop",
        pod(phase="Pending", ready=False, **_waiting("CrashLoopBackOff", _INIT)),
        "FAILED",
    ),
    ("image pull back-off", pod(phase="Pending", ready=False, **_waiting("ImagePullBackOff")), "FAILED"),
    (
        "bad container config",
        pod(phase="Pending", ready=False, **_waiting("CreateContainerConfigError")),
        "FAILED",
    ),
    ("failed", pod(phase="Failed", ready=False, reason="UnexpectedAdmissionError"), "FAILED"),
    ("exited", pod(phase="Succeeded", ready=False), "FAILED"),
    ("evicted", pod(phase="Failed", ready=False, reason="Evicted"), "PREEMPTED"),
    ("node shutdown (GKE spot reclaim)", pod(phase="Failed", ready=False, reason="Terminated"), "PREEMPTED"),
    ("graceful node shutdown", pod(phase="Failed", ready=False, reason="NodeShutdown"), "PREEMPTED"),
    ("preempted by the scheduler", _deleting(pod(**_disruption("PreemptionByScheduler"))), "PREEMPTED"),
    ("taint manager (node gone)", pod(**_disruption("DeletionByTaintManager")), "PREEMPTED"),
    ("drained (eviction API)", _deleting(pod(**_disruption("EvictionByEvictionAPI"))), "SHUTTING_DOWN"),
    ("deleted", _deleting(pod()), "SHUTTING_DOWN"),
    ("deleted while failed", _deleting(pod(phase="Failed", ready=False)), "SHUTTING_DOWN"),
    ("node lost", pod(phase="Unknown", ready=False), "UNKNOWN"),
    ("no status at all", {"metadata": {"name": "x", "namespace": "y"}}, "UNKNOWN"),
    ("garbage status", {"metadata": {}, "spec": [], "status": "Running"}, "UNKNOWN"),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [(raw, expected) for _, raw, expected in CASES], ids=[c[0] for c in CASES]
)
def test_pod_state_maps_onto_replica_status(raw: dict[str, Any], expected: str) -> None:
    assert pod_status(raw) == expected


def test_every_status_the_mapping_produces_is_a_skyserve_replica_status() -> None:
    assert {expected for _, _, expected in CASES} <= set(REPLICA_STATUSES)

"""Pods and nodes as records: service names, requests, malformed objects skipped and counted, and
every row of the pod -> ReplicaStatus table on pods shaped like the API server's."""

from typing import Any

import pytest

from collectors.kubernetes.client import ContextListing
from collectors.kubernetes.metrics import REPLICA_STATUSES
from collectors.kubernetes.records import (
    DUPLICATE_POD,
    INVALID_NODE,
    INVALID_POD,
    NO_SERVICE_NAME,
    PodRules,
    parse_cluster,
    parse_pod,
    pod_status,
)
from collectors.kubernetes.resources import Amounts, pod_requests
from tests.unit.kubernetes.fixtures import CREATED_AT, gke_node, node, pod

RULES = PodRules(service_label="app.kubernetes.io/name", include_skypilot=False)


def _listing(pods: list[Any], nodes: list[Any] | None = None, context: str = "ctx") -> ContextListing:
    return ContextListing(context=context, pods=tuple(pods), nodes=tuple(nodes or []))


@pytest.mark.parametrize(
    ("labels", "owner", "expected"),
    [
        ({"app.kubernetes.io/name": "llama"}, ("ReplicaSet", "other-5b8c7"), "llama"),
        ({"pod-template-hash": "7d9f8b6c5"}, ("ReplicaSet", "vllm-llama-7d9f8b6c5"), "vllm-llama"),
        ({}, ("ReplicaSet", "bare-rs"), "bare-rs"),
        ({"pod-template-hash": "abc"}, ("StatefulSet", "tgi-70b"), "tgi-70b"),
        ({"app.kubernetes.io/name": "  "}, ("StatefulSet", "tgi-70b"), "tgi-70b"),
        ({}, ("LeaderWorkerSet", "lws-405b"), "lws-405b"),
    ],
)
def test_service_name_from_label_else_owner(
    labels: dict[str, str], owner: tuple[str, str], expected: str
) -> None:
    record = parse_pod(pod(labels=labels, owner=owner), "ctx", "app.kubernetes.io/name")
    assert not isinstance(record, str)
    assert record.service_name == expected


def test_configured_service_label_wins() -> None:
    raw = pod(labels={"serving.kserve.io/inferenceservice": "qwen", "app.kubernetes.io/name": "x"})
    record = parse_pod(raw, "ctx", "serving.kserve.io/inferenceservice")
    assert not isinstance(record, str) and record.service_name == "qwen"


def test_non_controller_owner_is_used_only_when_no_controller() -> None:
    raw = pod(labels={}, owner=None)
    raw["metadata"]["ownerReferences"] = [
        {"kind": "ConfigMap", "name": "cm"},
        {"kind": "StatefulSet", "name": "sts", "controller": True},
    ]
    record = parse_pod(raw, "ctx", "app.kubernetes.io/name")
    assert not isinstance(record, str) and record.service_name == "sts"


def test_fields_of_a_pod_record() -> None:
    record = parse_pod(
        pod(labels={"app.kubernetes.io/name": "llama", "app.kubernetes.io/version": "v3"}),
        "ctx",
        "app.kubernetes.io/name",
    )
    assert not isinstance(record, str)
    assert (record.context, record.namespace, record.name, record.replica_id) == (
        "ctx",
        "serving",
        "llama-7d9f8b6c5-x2k4p",
        "llama-7d9f8b6c5-x2k4p",
    )
    assert (record.version, record.status, record.node_name) == ("v3", "READY", "node-1")
    assert record.created_at == CREATED_AT
    assert record.holds_resources
    assert record.requests == Amounts(cpus=4.0, memory_gib=16.0, accelerators=1.0)


@pytest.mark.parametrize(
    ("phase", "node_name", "holds"),
    [
        ("Running", "n", True),
        ("Pending", "n", True),
        ("Pending", "", False),
        ("Failed", "n", False),
        ("Succeeded", "n", False),
    ],
)
def test_holds_resources_while_scheduled_and_not_ended(phase: str, node_name: str, holds: bool) -> None:
    record = parse_pod(pod(phase=phase, node=node_name), "ctx", "app.kubernetes.io/name")
    assert not isinstance(record, str) and record.holds_resources is holds


def test_effective_requests_follow_the_scheduler() -> None:
    spec = {
        "containers": [
            {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}},
            {
                "resources": {"limits": {"cpu": "2", "nvidia.com/gpu": "2"}}
            },  # limits only: requested as limits
        ],
        "initContainers": [{"resources": {"requests": {"cpu": "4", "memory": "512Mi"}}}],
        "overhead": {"cpu": "100m"},
    }
    requests = pod_requests(spec)
    assert requests.cpus == pytest.approx(4.1)
    assert (requests.memory_gib, requests.accelerators) == (1.0, 2.0)
    assert pod_requests({}) == Amounts()
    assert pod_requests({"containers": [{"resources": {"requests": {"cpu": "lots"}}}]}).cpus is None


def test_malformed_objects_are_skipped_and_counted() -> None:
    no_owner = pod(name="bare", labels={}, owner=None)
    bad_labels = pod(name="b")
    bad_labels["metadata"]["labels"] = {"app.kubernetes.io/name": 3}
    pods = [pod(), "not a pod", {"metadata": {"name": "x"}}, bad_labels, no_owner, {"spec": {}}, pod()]
    nodes = [gke_node(), {"metadata": {}}, 7]
    cluster = parse_cluster([_listing(pods, nodes)], RULES)
    assert [p.name for p in cluster.pods] == ["llama-7d9f8b6c5-x2k4p"]
    assert list(cluster.nodes) == [("ctx", "node-1")]
    assert cluster.skipped == {INVALID_POD: 4, NO_SERVICE_NAME: 1, DUPLICATE_POD: 1, INVALID_NODE: 2}


def test_a_phase_of_the_wrong_type_does_not_fail_the_run() -> None:
    odd = pod(name="odd")
    odd["status"]["phase"] = ["Running"]
    cluster = parse_cluster([_listing([odd])], RULES)
    assert [(p.name, p.holds_resources) for p in cluster.pods] == [("odd", True)]


def test_skypilot_pods_are_left_to_the_skyserve_collector_unless_included() -> None:
    sky = pod(name="sky-1", labels={"skypilot-cluster-name": "svc-2ea4", "app.kubernetes.io/name": "svc"})
    listing = _listing([pod(), sky])
    assert [p.name for p in parse_cluster([listing], RULES).pods] == ["llama-7d9f8b6c5-x2k4p"]
    included = parse_cluster([listing], PodRules("app.kubernetes.io/name", include_skypilot=True))
    assert [p.name for p in included.pods] == ["llama-7d9f8b6c5-x2k4p", "sky-1"]


def test_a_pod_name_shared_by_two_clusters_or_namespaces_is_qualified_for_each() -> None:
    sts = {"app.kubernetes.io/name": "tgi"}
    east = _listing([pod("tgi-0", labels=sts, owner=("StatefulSet", "tgi")), pod()], context="east")
    west = _listing([pod("tgi-0", labels=sts, owner=("StatefulSet", "tgi"))], context="west")
    other_ns = _listing(
        [pod("tgi-0", labels=sts, namespace="staging", owner=("StatefulSet", "tgi"))], context="west"
    )
    cluster = parse_cluster([east, west, other_ns], RULES)
    ids = sorted(p.replica_id for p in cluster.pods)
    assert ids == ["east/serving/tgi-0", "llama-7d9f8b6c5-x2k4p", "west/serving/tgi-0", "west/staging/tgi-0"]
    assert cluster.skipped == {}


def test_nodes_of_two_contexts_are_kept_apart() -> None:
    cluster = parse_cluster([_listing([], [node("n")], "a"), _listing([], [node("n")], "b")], RULES)
    assert sorted(cluster.nodes) == [("a", "n"), ("b", "n")]


# --- every row of the pod -> ReplicaStatus table ---

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


STATUS_CASES = [
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
    ("raw", "expected"),
    [(raw, expected) for _, raw, expected in STATUS_CASES],
    ids=[c[0] for c in STATUS_CASES],
)
def test_pod_state_maps_onto_replica_status(raw: dict[str, Any], expected: str) -> None:
    assert pod_status(raw) == expected


def test_every_status_the_mapping_produces_is_a_skyserve_replica_status() -> None:
    assert {expected for _, _, expected in STATUS_CASES} <= set(REPLICA_STATUSES)

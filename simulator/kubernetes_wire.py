"""Pods, nodes, lists and Status errors in the Kubernetes API's JSON, as the API server writes them.

Objects carry what real ones do (managed fields, probes, env, tolerations, images in status), not
just what the exporter reads, so list sizes and parse costs in benchmarks are realistic.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from simulator.kubernetes_shapes import ClusterProfile, NodePool, Workload


class PodState(StrEnum):
    """What the simulated pod is doing, each rendered as the kubelet would report it."""

    UNSCHEDULED = "unscheduled"
    CREATING = "creating"
    STARTING = "starting"  # running, startup probe not passed
    READY = "ready"
    NOT_READY = "not_ready"
    CRASHLOOP = "crashloop"
    IMAGE_PULL = "image_pull"
    TERMINATING = "terminating"
    EVICTED = "evicted"
    PREEMPTED = "preempted"  # by the scheduler, for a higher-priority pod
    LOST = "lost"  # node stopped reporting: phase Unknown


@dataclass(frozen=True)
class SimNode:
    profile: ClusterProfile
    pool: NodePool
    name: str
    zone: str
    index: int
    created_at: float


@dataclass(frozen=True)
class SimPod:
    workload: Workload
    name: str
    owner: str  # ReplicaSet or StatefulSet name
    template_hash: str
    node: str
    state: PodState
    created_at: float
    uid: str
    ip: str


def timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_labels(pod: SimPod, name_label: str = "app.kubernetes.io/name") -> dict[str, str]:
    workload = pod.workload
    labels = {"app.kubernetes.io/component": "inference", "app.kubernetes.io/part-of": "llm-serving"}
    if workload.name_label:
        labels[name_label] = workload.name
    if workload.kind == "Deployment":
        labels["pod-template-hash"] = pod.template_hash
    else:
        labels["apps.kubernetes.io/pod-index"] = pod.name.rpartition("-")[2]
    if workload.skypilot:
        labels["skypilot-cluster-name"] = f"{workload.name}-2ea4"
    return labels


def pod_dict(pod: SimPod, resource_version: int) -> dict[str, Any]:
    return {
        "metadata": _pod_metadata(pod, resource_version),
        "spec": _pod_spec(pod),
        "status": _pod_status(pod),
    }


def _pod_metadata(pod: SimPod, resource_version: int) -> dict[str, Any]:
    workload = pod.workload
    metadata: dict[str, Any] = {
        "name": pod.name,
        "generateName": pod.name.rpartition("-")[0] + "-",
        "namespace": workload.namespace,
        "uid": pod.uid,
        "resourceVersion": str(resource_version),
        "creationTimestamp": timestamp(pod.created_at),
        "labels": pod_labels(pod),
        "annotations": {"kubectl.kubernetes.io/restartedAt": timestamp(pod.created_at - 3600)},
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet" if workload.kind == "Deployment" else "StatefulSet",
                "name": pod.owner,
                "uid": pod.uid[::-1],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
        "managedFields": [
            {
                "manager": "kube-controller-manager",
                "operation": "Update",
                "apiVersion": "v1",
                "time": timestamp(pod.created_at),
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}}}, "f:spec": {}},
            }
        ],
    }
    if pod.state == PodState.TERMINATING:
        metadata["deletionTimestamp"] = timestamp(pod.created_at + 7200)
        metadata["deletionGracePeriodSeconds"] = 30
    return metadata


def _pod_spec(pod: SimPod) -> dict[str, Any]:
    workload = pod.workload
    limits = {"nvidia.com/gpu": str(workload.gpus)} if workload.gpus else {}
    spec: dict[str, Any] = {
        "volumes": [{"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}}],
        "containers": [
            {
                "name": "server",
                "image": workload.image,
                "args": ["--port", str(workload.port), "--max-model-len", "8192"],
                "ports": [{"name": "http", "containerPort": workload.port, "protocol": "TCP"}],
                "env": [
                    {"name": "HF_HOME", "value": "/cache"},
                    {"name": "VLLM_LOGGING_LEVEL", "value": "INFO"},
                ],
                "resources": {
                    "limits": {**limits, "memory": workload.memory},
                    "requests": {**limits, "cpu": workload.cpu, "memory": workload.memory},
                },
                "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                "readinessProbe": {"httpGet": {"path": "/health", "port": workload.port}, "periodSeconds": 5},
                "startupProbe": {
                    "httpGet": {"path": "/health", "port": workload.port},
                    "failureThreshold": 120,
                },
                "terminationMessagePath": "/dev/termination-log",
                "imagePullPolicy": "IfNotPresent",
            }
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default",
        "schedulerName": "default-scheduler",
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "priority": 0,
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
    }
    if pod.node:
        spec["nodeName"] = pod.node
    return spec


_PHASES = {
    PodState.UNSCHEDULED: "Pending",
    PodState.CREATING: "Pending",
    PodState.IMAGE_PULL: "Pending",
    PodState.EVICTED: "Failed",
    PodState.PREEMPTED: "Failed",
    PodState.LOST: "Unknown",
}


def _pod_status(pod: SimPod) -> dict[str, Any]:
    state = pod.state
    status: dict[str, Any] = {"phase": _PHASES.get(state, "Running"), "qosClass": "Burstable"}
    scheduled = "True" if pod.node else "False"
    conditions = [_condition("PodScheduled", scheduled, pod, "" if pod.node else "Unschedulable")]
    if state == PodState.UNSCHEDULED:
        status["conditions"] = conditions
        return status
    ready = "True" if state == PodState.READY else "False"
    conditions += [
        _condition("Initialized", "True", pod),
        _condition("Ready", ready, pod),
        _condition("ContainersReady", ready, pod),
    ]
    if state == PodState.EVICTED:
        status.update(reason="Evicted", message="The node was low on resource: memory.")
    if state == PodState.PREEMPTED:
        conditions.append(_condition("DisruptionTarget", "True", pod, "PreemptionByScheduler"))
    status.update(
        conditions=conditions,
        hostIP=f"10.0.{pod.ip.rpartition('.')[2]}.1",
        podIP=pod.ip,
        startTime=timestamp(pod.created_at + 5),
        containerStatuses=[_container_status(pod)],
    )
    return status


def _container_status(pod: SimPod) -> dict[str, Any]:
    state = pod.state
    running = state in (PodState.READY, PodState.NOT_READY, PodState.STARTING, PodState.TERMINATING)
    waiting = {
        PodState.CREATING: "ContainerCreating",
        PodState.CRASHLOOP: "CrashLoopBackOff",
        PodState.IMAGE_PULL: "ImagePullBackOff",
    }.get(state)
    if running:
        container_state: dict[str, Any] = {"running": {"startedAt": timestamp(pod.created_at + 40)}}
    elif waiting:
        container_state = {"waiting": {"reason": waiting}}
    else:
        container_state = {"terminated": {"exitCode": 137, "reason": "Error"}}
    return {
        "name": "server",
        "state": container_state,
        "lastState": {},
        "ready": state == PodState.READY,
        "restartCount": 7 if state == PodState.CRASHLOOP else 0,
        "image": pod.workload.image,
        "imageID": f"docker.io/{pod.workload.image}@sha256:{pod.uid.replace('-', '')}",
        "started": running and state != PodState.STARTING,
    }


def _condition(kind: str, status: str, pod: SimPod, reason: str = "") -> dict[str, Any]:
    condition = {"type": kind, "status": status, "lastTransitionTime": timestamp(pod.created_at + 1)}
    if reason:
        condition["reason"] = reason
    return condition


def node_labels(node: SimNode) -> dict[str, str]:
    profile, pool = node.profile, node.pool
    labels = {
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": node.zone,
        **profile.labels,
        **pool.labels,
    }
    if profile.region:
        labels["topology.kubernetes.io/region"] = profile.region
    if pool.instance_type:
        labels["node.kubernetes.io/instance-type"] = pool.instance_type
    return labels


def node_dict(node: SimNode, resource_version: int) -> dict[str, Any]:
    pool, profile = node.pool, node.profile
    capacity = {"cpu": str(pool.cpus), "memory": f"{pool.memory_gib * 1024 * 1024}Ki", "pods": "110"}
    allocatable = {
        "cpu": f"{pool.cpus * 1000 - 200}m",
        "memory": f"{(pool.memory_gib - 2) * 1024 * 1024}Ki",
        "pods": "110",
    }
    if pool.gpus:
        capacity["nvidia.com/gpu"] = allocatable["nvidia.com/gpu"] = str(pool.gpus)
    spec: dict[str, Any] = {"podCIDR": f"10.{node.index % 250}.0.0/24"}
    if profile.provider_id:
        spec["providerID"] = profile.provider_id.format(
            zone=node.zone, name=node.name, index=node.index, pool=pool.name
        )
    return {
        "metadata": {
            "name": node.name,
            "uid": f"node-{node.index:08d}",
            "resourceVersion": str(resource_version),
            "creationTimestamp": timestamp(node.created_at),
            "labels": node_labels(node),
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": spec,
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            "nodeInfo": {
                "machineID": f"{node.index:032x}",
                "systemUUID": f"ec2{node.index:05x}-0000-0000-0000-000000000000",
                "bootID": f"{node.index:08x}-b007-4000-8000-000000000000",
                "kernelVersion": "6.1.112-124.190.amzn2023.x86_64",
                "osImage": "Amazon Linux 2023.6.20241111",
                "containerRuntimeVersion": "containerd://1.7.22",
                "kubeletVersion": "v1.31.2",
                "kubeProxyVersion": "v1.31.2",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def list_body(
    kind: str, resource_version: int, items: Sequence[bytes], token: str | None, remaining: int
) -> bytes:
    """A ``PodList``/``NodeList`` assembled from pre-encoded items (encoding is the costly part)."""
    metadata: dict[str, Any] = {"resourceVersion": str(resource_version)}
    if token:
        metadata.update({"continue": token, "remainingItemCount": remaining})
    head = json.dumps({"kind": kind, "apiVersion": "v1", "metadata": metadata})
    return head[:-1].encode() + b', "items": [' + b",".join(items) + b"]}"


def status_body(
    code: int, reason: str, message: str, details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = dict(details)
    return body

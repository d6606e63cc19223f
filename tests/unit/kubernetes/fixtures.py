"""Builders for Kubernetes API objects and lists, and collectors pointed at a loopback API server."""

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import requests
import yaml
from prometheus_client.core import Metric
from prometheus_client.exposition import generate_latest

from collectors.kubernetes.collector import KubernetesCollector
from collectors.pricing import PriceBook, PricingConfig
from exporter.collector import CollectorContext
from simulator.demo import DEMO_KUBERNETES_PRICING, demo_catalog_dir

NOW = 1_795_830_000.0
CREATED = "2026-11-28T10:00:00Z"
CREATED_AT = 1_795_860_000.0  # CREATED as Unix time


def pod(
    name: str = "llama-7d9f8b6c5-x2k4p",
    *,
    namespace: str = "serving",
    labels: Mapping[str, str] | None = None,
    owner: tuple[str, str] | None = ("ReplicaSet", "llama-7d9f8b6c5"),
    node: str = "node-1",
    phase: str = "Running",
    ready: bool = True,
    gpus: int = 1,
    cpu: str = "4",
    memory: str = "16Gi",
    **status: Any,
) -> dict[str, Any]:
    """A Deployment's pod as the API server lists it (``status`` keys are merged into its status)."""
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": dict(
            labels
            if labels is not None
            else {"app.kubernetes.io/name": "llama", "pod-template-hash": "7d9f8b6c5"}
        ),
        "creationTimestamp": CREATED,
    }
    if owner is not None:
        metadata["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True}]
    requests_: dict[str, str] = {"cpu": cpu, "memory": memory}
    if gpus:
        requests_["nvidia.com/gpu"] = str(gpus)
    spec: dict[str, Any] = {"containers": [{"name": "server", "resources": {"requests": requests_}}]}
    if node:
        spec["nodeName"] = node
    pod_status: dict[str, Any] = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        "containerStatuses": [{"name": "server", "ready": ready, "started": True, "state": {"running": {}}}],
    }
    pod_status.update(status)
    return {"metadata": metadata, "spec": spec, "status": pod_status}


def node(
    name: str = "node-1",
    *,
    labels: Mapping[str, str] | None = None,
    provider_id: str | None = None,
    cpu: str = "8",
    memory: str = "32Gi",
    gpus: int = 1,
    allocatable_cpu: str | None = None,
) -> dict[str, Any]:
    capacity = {"cpu": cpu, "memory": memory, "pods": "110"}
    allocatable = {"cpu": allocatable_cpu or cpu, "memory": memory, "pods": "110"}
    if gpus:
        capacity["nvidia.com/gpu"] = allocatable["nvidia.com/gpu"] = str(gpus)
    spec = {"providerID": provider_id} if provider_id is not None else {}
    return {
        "metadata": {"name": name, "labels": dict(labels or {})},
        "spec": spec,
        "status": {"capacity": capacity, "allocatable": allocatable},
    }


def gke_node(name: str = "node-1", **changes: Any) -> dict[str, Any]:
    labels = {
        "topology.kubernetes.io/region": "us-central1",
        "topology.kubernetes.io/zone": "us-central1-a",
        "node.kubernetes.io/instance-type": "g2-standard-8",
        "cloud.google.com/gke-accelerator": "nvidia-l4",
        "cloud.google.com/gke-spot": "true",
    }
    labels.update(changes.pop("labels", {}))
    return node(name, labels=labels, provider_id=f"gce://acme/us-central1-a/{name}", **changes)


def pod_list(items: Iterable[Any], token: str | None = None, kind: str = "PodList") -> dict[str, Any]:
    metadata: dict[str, Any] = {"resourceVersion": "42"}
    if token:
        metadata["continue"] = token
    return {"kind": kind, "apiVersion": "v1", "metadata": metadata, "items": list(items)}


def status(code: int, reason: str, message: str) -> str:
    return json.dumps(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "reason": reason,
            "message": message,
            "code": code,
        }
    )


def write_kubeconfig(
    path: Path, servers: Mapping[str, str], token: str = "t0ken", current: str | None = None
) -> Path:
    """A kubeconfig with one context per (name, server URL), token auth."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": url}} for name, url in servers.items()],
        "users": [{"name": "exporter", "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": "exporter"}} for name in servers],
        "current-context": current if current is not None else next(iter(servers)),
    }
    path.write_text(yaml.safe_dump(document))
    return path


def price_book() -> PriceBook:
    return PriceBook.from_config(
        PricingConfig(catalog_dir=demo_catalog_dir(), kubernetes=DEMO_KUBERNETES_PRICING)
    )


def context(prices: PriceBook | None = None, environ: Mapping[str, str] | None = None) -> CollectorContext:
    return CollectorContext(
        session_factory=requests.Session,
        clock=lambda: NOW,
        logger=logging.getLogger("test.kubernetes"),
        environ=dict(environ or {}),
        offered=lambda: () if prices is None else (prices,),
    )


def collector(section: Mapping[str, Any], prices: PriceBook | None = None) -> KubernetesCollector:
    return KubernetesCollector.from_config(dict(section), context(prices))


class _Families:
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> list[Metric]:
        return self._families


def render(families: Iterable[Metric]) -> str:
    return generate_latest(_Families(families)).decode()


def samples(families: Iterable[Metric], name: str) -> list[dict[str, Any]]:
    """Every sample of one family as its labels plus ``value``."""
    return [
        {**sample.labels, "value": sample.value}
        for family in families
        for sample in family.samples
        if sample.name == name
    ]

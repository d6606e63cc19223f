"""The Kubernetes collector's metric families: the one table docs and tests check against.

Replica families are the ones every source shares (``collectors.replica_families``; ``source``
tells them apart), so one dashboard covers all. Cost and node families have the labels and help
of the shared cost families (``collectors.pricing.replica_costs``) and of the bare-metal
collector's node families.
"""

from typing import Final

from collectors.pricing import REPLICA_COST_SPECS
from collectors.replica_families import (
    REPLICA_ACCELERATORS,
    REPLICA_INFO,
    REPLICA_LAUNCHED,
    REPLICA_STATUS,
    REPLICA_STATUSES,
    REPLICAS_BY_CLOUD,
)
from exporter.metrics import MetricSpec, MetricTable

SOURCE: Final = "kubernetes"

__all__ = ["KUBERNETES_METRICS", "REPLICA_STATUSES", "SOURCE"]

_PRICED = ("cloud", "region", "spot", "price_source")

KUBERNETES_METRICS = MetricTable(
    specs=(
        REPLICA_INFO,
        REPLICA_STATUS,
        REPLICA_LAUNCHED,
        REPLICA_ACCELERATORS,
        REPLICAS_BY_CLOUD,
        *REPLICA_COST_SPECS,
        MetricSpec(
            "skyserve_kubernetes_service_replicas",
            "gauge",
            "Pods of the Kubernetes service in each replica status, zeros included.",
            ("service_name", "status"),
        ),
        MetricSpec(
            "skyserve_kubernetes_pod_info",
            "gauge",
            "Where a Kubernetes replica's pod is: kubeconfig context, namespace and node (empty until "
            "scheduled); always 1.",
            ("service_name", "replica_id", "kubernetes_context", "kubernetes_namespace", "node"),
        ),
        MetricSpec(
            "skyserve_node_info",
            "gauge",
            "Node placement and hardware; always 1.",
            ("node", "source", "cloud", "region", "zone", "instance_type", "accelerator", "spot"),
        ),
        MetricSpec(
            "skyserve_node_hourly_cost_dollars",
            "gauge",
            "Hourly USD list price of the node (not billed cost); absent when it has none.",
            ("node", "source", "cloud", "region", "instance_type", "spot", "price_source"),
        ),
    )
)

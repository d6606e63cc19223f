"""The Kubernetes collector's metric families: the one table docs and tests check against.

Replica families share their names and labels with the SkyServe collector's (``source`` tells
them apart), so one dashboard covers both; they are taken from SkyServe's table so they cannot
drift. Cost and node families have the labels and help of the shared cost families
(``collectors.pricing.replica_costs``) and of the bare-metal collector's node families.
"""

from typing import Final

from collectors.pricing.replica_costs import REPLICA_COST_SPECS
from collectors.skyserve.metrics import REPLICA_STATUSES, SKYSERVE_METRICS
from exporter.metrics import MetricSpec, MetricTable

SOURCE: Final = "kubernetes"

__all__ = ["KUBERNETES_METRICS", "REPLICA_STATUSES", "SOURCE"]

_PRICED = ("cloud", "region", "spot", "price_source")

KUBERNETES_METRICS = MetricTable(
    specs=(
        SKYSERVE_METRICS.by_name("skyserve_replica_info"),
        SKYSERVE_METRICS.by_name("skyserve_replica_status"),
        SKYSERVE_METRICS.by_name("skyserve_replica_launched_timestamp_seconds"),
        SKYSERVE_METRICS.by_name("skyserve_replica_accelerators"),
        SKYSERVE_METRICS.by_name("skyserve_replicas_by_cloud"),
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

"""The bare-metal collector's metric families: the one table docs and tests check against.

The replica and cost families are the ones every source emits (``collectors.replica_families``),
so the exporter joins every collector's samples under one header; ``source="baremetal"`` tells
them apart.
"""

from collectors.pricing import REPLICA_COST_SPECS
from collectors.replica_families import REPLICA_INFO, REPLICA_STATUS, REPLICAS_BY_CLOUD
from exporter.metrics import MetricSpec, MetricTable

_NODE = ("node", "source")
_PLACEMENT = ("cloud", "region")

BAREMETAL_METRICS = MetricTable(
    specs=(
        MetricSpec(
            "skyserve_node_up",
            "gauge",
            "1 if the node passed its health check in the last run, else 0.",
            _NODE,
        ),
        MetricSpec(
            "skyserve_node_info",
            "gauge",
            "Node placement and hardware; always 1.",
            (*_NODE, *_PLACEMENT, "zone", "instance_type", "accelerator", "spot"),
        ),
        MetricSpec(
            "skyserve_node_hourly_cost_dollars",
            "gauge",
            "Hourly USD list price of the node (not billed cost); absent when it has none.",
            (*_NODE, *_PLACEMENT, "instance_type", "spot", "price_source"),
        ),
        MetricSpec(
            "skyserve_node_check_duration_seconds",
            "gauge",
            "Duration of the node's health check in the last run.",
            _NODE,
        ),
        REPLICA_INFO,
        REPLICA_STATUS,
        REPLICAS_BY_CLOUD,
        *REPLICA_COST_SPECS,
    )
)

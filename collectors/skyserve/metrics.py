"""The SkyServe collector's metric families: the one table docs and tests check against."""

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

__all__ = ["REPLICA_STATUSES", "SERVICE_STATUSES", "SKYSERVE_METRICS", "SOURCE"]

SOURCE = "skyserve"

# sky/serve/serve_state.py, SkyPilot 0.14. Every value gets a series (zeros included) so alerts and
# dashboards see a status the moment it is entered; values the exporter does not know are added.
SERVICE_STATUSES = (
    "CONTROLLER_INIT",
    "REPLICA_INIT",
    "CONTROLLER_FAILED",
    "READY",
    "SHUTTING_DOWN",
    "FAILED",
    "FAILED_CLEANUP",
    "NO_REPLICA",
)

_REPLICA = ("service_name", "replica_id", "source")
_PLACEMENT = ("service_name", "source", "cloud", "region")

SKYSERVE_METRICS = MetricTable(
    specs=(
        REPLICA_INFO,
        REPLICA_STATUS,
        REPLICA_LAUNCHED,
        REPLICA_ACCELERATORS,
        REPLICAS_BY_CLOUD,
        MetricSpec(
            "skyserve_service_info",
            "gauge",
            "SkyServe service properties; always 1.",
            ("service_name", "endpoint", "load_balancing_policy", "tls"),
        ),
        MetricSpec(
            "skyserve_service_status",
            "gauge",
            "1 for the service's current status, 0 for every other SkyServe service status.",
            ("service_name", "status"),
        ),
        MetricSpec(
            "skyserve_service_replicas",
            "gauge",
            "Replicas of the service in each status, zeros included.",
            ("service_name", "status"),
        ),
        MetricSpec(
            "skyserve_service_target_replicas",
            "gauge",
            "Replicas the autoscaler currently aims for; absent when SkyServe does not report it.",
            ("service_name",),
        ),
        MetricSpec(
            "skyserve_service_version",
            "gauge",
            "Latest version of the service.",
            ("service_name",),
        ),
        MetricSpec(
            "skyserve_service_ready_since_timestamp_seconds",
            "gauge",
            "Unix time the service first became READY (SkyServe's uptime field); absent before that.",
            ("service_name",),
        ),
        MetricSpec(
            "skyserve_replica_nodes",
            "gauge",
            "Nodes in the replica's cluster; absent until it has resources.",
            _REPLICA,
        ),
        MetricSpec(
            "skyserve_replica_preemptions_total",
            "counter",
            "Replica transitions into PREEMPTED observed between polls since the exporter started.",
            _PLACEMENT,
        ),
        MetricSpec(
            "skyserve_replica_failures_total",
            "counter",
            "Replica failure episodes (transitions into a FAILED* status) observed between polls since the "
            "exporter started.",
            _PLACEMENT,
        ),
        *REPLICA_COST_SPECS,
    )
)

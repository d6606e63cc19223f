"""The SkyServe collector's metric families: the one table docs and tests check against."""

from collectors.pricing.replica_costs import REPLICA_COST_SPECS
from exporter.metrics import MetricSpec, MetricTable

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
REPLICA_STATUSES = (
    "PENDING",
    "PROVISIONING",
    "STARTING",
    "READY",
    "NOT_READY",
    "SHUTTING_DOWN",
    "FAILED",
    "FAILED_INITIAL_DELAY",
    "FAILED_PROBING",
    "FAILED_PROVISION",
    "FAILED_CLEANUP",
    "PREEMPTED",
    "UNKNOWN",
)

_REPLICA = ("service_name", "replica_id", "source")
_PLACEMENT = ("service_name", "source", "cloud", "region")

SKYSERVE_METRICS = MetricTable(
    specs=(
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
            "skyserve_replica_info",
            "gauge",
            "Replica placement and hardware; always 1. Empty values are not known yet (or, for zone, "
            "not reliably known).",
            (*_REPLICA, "version", "cloud", "region", "zone", "instance_type", "accelerator", "spot"),
        ),
        MetricSpec(
            "skyserve_replica_status",
            "gauge",
            "The replica's current status; always 1 (one series per replica).",
            (*_REPLICA, "status"),
        ),
        MetricSpec(
            "skyserve_replica_launched_timestamp_seconds",
            "gauge",
            "Unix time the replica's cluster was launched.",
            _REPLICA,
        ),
        MetricSpec(
            "skyserve_replica_nodes",
            "gauge",
            "Nodes in the replica's cluster; absent until it has resources.",
            _REPLICA,
        ),
        MetricSpec(
            "skyserve_replica_accelerators",
            "gauge",
            "Accelerators the replica holds across all its nodes; absent when it has none or none yet.",
            (*_REPLICA, "accelerator"),
        ),
        MetricSpec(
            "skyserve_replicas_by_cloud",
            "gauge",
            "Replicas of the service (any status) by placement; cloud and region are empty before the "
            "replica's cluster exists.",
            ("service_name", "source", "cloud", "region", "spot"),
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

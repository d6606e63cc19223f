"""The replica families every source emits: SkyServe, Kubernetes and bare metal alike.

One definition, imported by each collector's table, so names, help and labels cannot drift between
sources; the exporter joins their samples under one header and ``source`` tells them apart. The
cost families that go with them are ``collectors.pricing.replica_costs.REPLICA_COST_SPECS``.
"""

from exporter.metrics import MetricSpec

# sky/serve/serve_state.py ReplicaStatus, SkyPilot 0.14. Every value gets a series (zeros included)
# so alerts and dashboards see a status the moment it is entered; values the exporter does not
# know are added.
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

# What a replica serves: a SkyServe service (every source), or a jobs pool (SkyServe's workers, whose
# service_name is the pool's name). Only the info family carries it, so every family keyed by
# service_name, replica_id and source includes pool workers, and a join on the info tells them apart.
KIND_SERVICE = "service"
KIND_POOL = "pool"

REPLICA_INFO, REPLICA_STATUS, REPLICA_LAUNCHED, REPLICA_ACCELERATORS, REPLICAS_BY_CLOUD = (
    MetricSpec(
        "skyserve_replica_info",
        "gauge",
        "Replica placement and hardware; always 1. Empty values are not known yet (or, for zone, "
        "not reliably known). kind is service, or pool for a worker of a jobs pool.",
        (*_REPLICA, "version", "cloud", "region", "zone", "instance_type", "accelerator", "spot", "kind"),
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
)

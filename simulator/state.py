"""The simulated fleet's records: immutable, replaced wholesale on every change.

Immutability is what lets readers take a consistent snapshot by copying references under the
fleet lock and render it after releasing the lock.
"""

from dataclasses import dataclass
from enum import StrEnum

from simulator.formatting import Display, Resources


class ReplicaStatus(StrEnum):
    PENDING = "PENDING"
    PROVISIONING = "PROVISIONING"
    STARTING = "STARTING"
    READY = "READY"
    NOT_READY = "NOT_READY"
    SHUTTING_DOWN = "SHUTTING_DOWN"
    FAILED = "FAILED"
    FAILED_INITIAL_DELAY = "FAILED_INITIAL_DELAY"
    FAILED_PROBING = "FAILED_PROBING"
    FAILED_PROVISION = "FAILED_PROVISION"
    FAILED_CLEANUP = "FAILED_CLEANUP"
    PREEMPTED = "PREEMPTED"
    UNKNOWN = "UNKNOWN"


class ServiceStatus(StrEnum):
    CONTROLLER_INIT = "CONTROLLER_INIT"
    REPLICA_INIT = "REPLICA_INIT"
    CONTROLLER_FAILED = "CONTROLLER_FAILED"
    READY = "READY"
    SHUTTING_DOWN = "SHUTTING_DOWN"
    FAILED = "FAILED"
    FAILED_CLEANUP = "FAILED_CLEANUP"
    NO_REPLICA = "NO_REPLICA"


# Replicas that count towards the autoscaler's target (sky/serve/serve_state.py's
# scale_down_decision_order).
ALIVE = frozenset(
    {
        ReplicaStatus.PENDING,
        ReplicaStatus.PROVISIONING,
        ReplicaStatus.STARTING,
        ReplicaStatus.READY,
        ReplicaStatus.NOT_READY,
    }
)
FAILED = frozenset(
    {
        ReplicaStatus.FAILED,
        ReplicaStatus.FAILED_INITIAL_DELAY,
        ReplicaStatus.FAILED_PROBING,
        ReplicaStatus.FAILED_PROVISION,
        ReplicaStatus.FAILED_CLEANUP,
        ReplicaStatus.UNKNOWN,
    }
)


@dataclass(frozen=True)
class Replica:
    replica_id: int
    version: int
    status: ReplicaStatus
    resources: Resources  # chosen at launch; shown only while a cluster exists
    display: Display
    ip: str
    has_cluster: bool
    launched_at: int | None
    due: float  # simulated time of the next scheduled transition
    status_detail: str | None = None
    # The status a replica being torn down after a failure ends in (None: it is removed).
    after_shutdown: ReplicaStatus | None = None

    @property
    def is_spot(self) -> bool:
        return self.resources.spot


@dataclass(frozen=True)
class Policy:
    min_replicas: int
    max_replicas: int
    target_qps: float | None

    def text(self) -> str:
        """``SkyServiceSpec.autoscaling_policy_str`` for a service (not a pool)."""
        plural_min = "" if self.min_replicas == 1 else "s"
        if self.max_replicas == self.min_replicas or self.target_qps is None:
            return f"Fixed {self.min_replicas} replica{plural_min}"
        plural_max = "" if self.max_replicas == 1 else "s"
        return (
            f"Autoscaling from {self.min_replicas} to {self.max_replicas} replica{plural_max} "
            f"(target QPS per replica: {self.target_qps})"
        )


@dataclass(frozen=True)
class Identity:
    """What never changes over a service's life."""

    name: str
    template: str
    model: str
    shape_class: str
    accelerators_requested: str  # requested_resources_str, e.g. "1x[A10G:1, L4:1]"
    accelerators_yaml: str | None  # the task YAML's accelerators, e.g. "{A10G: 1, L4: 1}"
    port: int
    nodes: int
    spot_fraction: float
    disk_size: int
    image_id: str | None
    load_balancing_policy: str
    tls: bool
    controller_job_id: int
    controller_port: int
    load_balancer_port: int
    controller_pid: int
    lb_ip: str
    service_hash: str
    user_hash: str
    user_name: str


@dataclass(frozen=True)
class Service:
    identity: Identity
    policy: Policy
    status: ServiceStatus
    version: int
    uptime: int | None
    target: int
    replicas: tuple[Replica, ...]
    next_replica_id: int
    target_visible: bool = True
    controller_failed: bool = False

    @property
    def name(self) -> str:
        return self.identity.name

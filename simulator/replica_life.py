"""One replica's life, as SkyServe 0.14's replica manager walks it.

PENDING -> PROVISIONING (cluster record appears) -> STARTING (endpoint appears) -> READY, with
NOT_READY blips. A failure is torn down first (SHUTTING_DOWN, cluster still there) and then kept
as FAILED_* without a cluster until purged; a preempted spot replica shows PREEMPTED while it is
torn down, then disappears (sky/serve/replica_managers.py ``to_replica_status`` and
``_handle_sky_down_finish``).
"""

import math
import random
from dataclasses import dataclass, replace

from simulator.state import Replica, ReplicaStatus

# Seconds a replica dwells in each timed status (uniform between the bounds).
DWELL: dict[ReplicaStatus, tuple[float, float]] = {
    ReplicaStatus.PENDING: (5, 30),
    ReplicaStatus.PROVISIONING: (40, 180),
    ReplicaStatus.STARTING: (30, 150),
    ReplicaStatus.NOT_READY: (20, 90),
    ReplicaStatus.SHUTTING_DOWN: (10, 40),
    ReplicaStatus.PREEMPTED: (20, 60),
}
# Failed records stay visible this long, standing in for an operator's purge.
FAILED_RECORD_LIFETIME = (600.0, 1800.0)
PREEMPTION_RATE = 1 / 3600  # per second, per READY spot replica
NOT_READY_RATE = 1 / 14400  # per second, per READY replica
PROVISION_FAILURE = 0.05
STARTUP_FAILURE = 0.06
PROBE_FAILURE = 0.3
CLEANUP_FAILURE = 0.05
QUEUE_DETAIL = "waiting for queue admission"


@dataclass(frozen=True)
class Tick:
    """The step being taken: simulated time after it, its length, and the fleet's RNG."""

    now: float
    seconds: float
    rng: random.Random

    def chance(self, rate: float) -> bool:
        """Whether a Poisson event with this rate (per second) fires during the step."""
        return self.rng.random() < 1 - math.exp(-rate * self.seconds)

    def due(self, status: ReplicaStatus) -> float:
        low, high = DWELL[status]
        return self.now + self.rng.uniform(low, high)


def enter(replica: Replica, status: ReplicaStatus, tick: Tick) -> Replica:
    due = tick.due(status) if status in DWELL else math.inf
    return replace(replica, status=status, due=due)


def shut_down(replica: Replica, tick: Tick, after: ReplicaStatus | None) -> Replica | None:
    """Start tearing a replica down; one without a cluster just goes away."""
    if not replica.has_cluster:
        return None
    return replace(
        enter(replica, ReplicaStatus.SHUTTING_DOWN, tick), after_shutdown=after, status_detail=None
    )


def _provisioned(replica: Replica, tick: Tick) -> Replica | None:
    if tick.rng.random() < PROVISION_FAILURE:
        # A spot launch that found no capacity is dropped rather than kept as failed.
        after = None if replica.is_spot else ReplicaStatus.FAILED_PROVISION
        return shut_down(replica, tick, after)
    return replace(enter(replica, ReplicaStatus.STARTING, tick), status_detail=None)


def _started(replica: Replica, tick: Tick) -> Replica | None:
    if tick.rng.random() < STARTUP_FAILURE:
        failure = tick.rng.choice((ReplicaStatus.FAILED, ReplicaStatus.FAILED_INITIAL_DELAY))
        return shut_down(replica, tick, failure)
    return enter(replica, ReplicaStatus.READY, tick)


def _recovered_or_failed(replica: Replica, tick: Tick) -> Replica | None:
    if tick.rng.random() < PROBE_FAILURE:
        return shut_down(replica, tick, ReplicaStatus.FAILED_PROBING)
    return enter(replica, ReplicaStatus.READY, tick)


def _torn_down(replica: Replica, tick: Tick) -> Replica | None:
    if replica.after_shutdown is None:
        return None
    if tick.rng.random() < CLEANUP_FAILURE:
        return replace(enter(replica, ReplicaStatus.FAILED_CLEANUP, tick), after_shutdown=None)
    return replace(
        replica,
        status=replica.after_shutdown,
        after_shutdown=None,
        has_cluster=False,
        launched_at=None,
        due=tick.now + tick.rng.uniform(*FAILED_RECORD_LIFETIME),
    )


def _pending_done(replica: Replica, tick: Tick) -> Replica:
    queued = replica.resources.shape.cloud == "Kubernetes" and tick.rng.random() < 0.3
    return replace(
        enter(replica, ReplicaStatus.PROVISIONING, tick),
        has_cluster=True,
        launched_at=int(tick.now),
        status_detail=QUEUE_DETAIL if queued else None,
    )


def _on_due(replica: Replica, tick: Tick) -> Replica | None:
    status = replica.status
    if status == ReplicaStatus.PENDING:
        return _pending_done(replica, tick)
    if status == ReplicaStatus.PROVISIONING:
        return _provisioned(replica, tick)
    if status == ReplicaStatus.STARTING:
        return _started(replica, tick)
    if status == ReplicaStatus.NOT_READY:
        return _recovered_or_failed(replica, tick)
    if status == ReplicaStatus.SHUTTING_DOWN:
        return _torn_down(replica, tick)
    # PREEMPTED and failed records: their time is up, the record goes.
    return None


def _while_ready(replica: Replica, tick: Tick) -> Replica:
    if replica.is_spot and tick.chance(PREEMPTION_RATE):
        return enter(replica, ReplicaStatus.PREEMPTED, tick)
    if tick.chance(NOT_READY_RATE):
        return enter(replica, ReplicaStatus.NOT_READY, tick)
    return replica


def advance(replica: Replica, tick: Tick) -> Replica | None:
    """The replica after this step, or None once it is gone from the replica table."""
    if replica.status == ReplicaStatus.READY:
        return _while_ready(replica, tick)
    if tick.now >= replica.due:
        return _on_due(replica, tick)
    return replica

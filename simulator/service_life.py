"""One service's step: its replicas age, the autoscaler scales, updates roll, the controller blips.

Service status follows skypilot 0.14.1 ``set_service_status_and_active_versions_from_replica``:
only READY replicas are considered, so a running controller reports READY or NO_REPLICA, and
``active_versions`` are the versions of READY replicas (rolling update mode).
"""

from dataclasses import replace

from simulator import replica_life
from simulator.formatting import describe
from simulator.placement import choose_ip, choose_resources
from simulator.replica_life import Tick
from simulator.state import ALIVE, FAILED, Replica, ReplicaStatus, Service, ServiceStatus

ROLL_RATE = 1 / 3600  # per second, per service: a `sky serve update`
SCALE_RATE = 1 / 900  # per second, per autoscaling service: the target moves
CONTROLLER_FAILURE_RATE = 1 / (12 * 3600)
CONTROLLER_RECOVERY_RATE = 1 / 600
# Chance per step that the controller's /autoscaler/info call fails and the target reads null.
TARGET_BLIP = 0.02
SCALE_DOWN_ORDER = (
    ReplicaStatus.PENDING,
    ReplicaStatus.PROVISIONING,
    ReplicaStatus.STARTING,
    ReplicaStatus.NOT_READY,
    ReplicaStatus.READY,
)


def new_replica(service: Service, tick: Tick) -> tuple[Service, Replica]:
    """A freshly scheduled replica of the latest version: PENDING, no cluster yet."""
    resources = choose_resources(service.identity, tick.rng)
    replica = Replica(
        replica_id=service.next_replica_id,
        version=service.version,
        status=ReplicaStatus.PENDING,
        resources=resources,
        display=describe(resources),
        ip=choose_ip(resources.shape.cloud, tick.rng),
        has_cluster=False,
        launched_at=None,
        due=tick.due(ReplicaStatus.PENDING),
    )
    return replace(service, next_replica_id=service.next_replica_id + 1), replica


def _scale_down_key(replica: Replica) -> tuple[int, int]:
    return SCALE_DOWN_ORDER.index(replica.status), -replica.replica_id


def _retire(replicas: list[Replica], chosen: list[Replica], tick: Tick) -> list[Replica]:
    ids = {r.replica_id for r in chosen}
    out: list[Replica] = []
    for replica in replicas:
        if replica.replica_id not in ids:
            out.append(replica)
        elif (gone := replica_life.shut_down(replica, tick, None)) is not None:
            out.append(gone)
    return out


def _reconcile(service: Service, replicas: list[Replica], tick: Tick) -> Service:
    """Launch or retire latest-version replicas to meet the target; finish a roll when ready."""
    latest = [r for r in replicas if r.version == service.version and r.status in ALIVE]
    surplus = len(latest) - service.target
    if surplus > 0:
        replicas = _retire(replicas, sorted(latest, key=_scale_down_key)[:surplus], tick)
    for _ in range(-surplus):
        service, replica = new_replica(service, tick)
        replicas.append(replica)
    ready = sum(1 for r in replicas if r.version == service.version and r.status == ReplicaStatus.READY)
    if ready >= service.target:
        old = [r for r in replicas if r.version < service.version and r.status in ALIVE]
        replicas = _retire(replicas, old, tick)
    return replace(service, replicas=tuple(replicas))


def _maybe_roll(service: Service, tick: Tick) -> Service:
    rolling = any(r.version < service.version and r.status in ALIVE for r in service.replicas)
    if rolling or not tick.chance(ROLL_RATE):
        return service
    # Failed records of outdated versions are dropped (removal "for version outdated").
    kept = tuple(r for r in service.replicas if r.status not in FAILED)
    return replace(service, version=service.version + 1, replicas=kept)


def _maybe_scale(service: Service, tick: Tick) -> Service:
    policy = service.policy
    if policy.min_replicas == policy.max_replicas or not tick.chance(SCALE_RATE):
        return service
    return replace(service, target=tick.rng.randint(policy.min_replicas, policy.max_replicas))


def _settle_status(service: Service, tick: Tick) -> Service:
    ready = [r for r in service.replicas if r.status == ReplicaStatus.READY]
    uptime = service.uptime
    if ready and uptime is None:
        uptime = int(tick.now)
    return replace(
        service,
        status=ServiceStatus.READY if ready else ServiceStatus.NO_REPLICA,
        uptime=uptime,
        target_visible=tick.rng.random() >= TARGET_BLIP,
    )


def _controller_down(service: Service, tick: Tick) -> Service:
    """A dead controller moves nothing; it may come back."""
    if tick.chance(CONTROLLER_RECOVERY_RATE):
        return replace(service, controller_failed=False)
    return service


def advance(service: Service, tick: Tick) -> Service:
    if service.controller_failed:
        service = _controller_down(service, tick)
        if service.controller_failed:
            return replace(service, status=ServiceStatus.CONTROLLER_FAILED, target_visible=False)
    elif tick.chance(CONTROLLER_FAILURE_RATE):
        return replace(
            service, controller_failed=True, status=ServiceStatus.CONTROLLER_FAILED, target_visible=False
        )
    aged = [r for r in (replica_life.advance(r, tick) for r in service.replicas) if r is not None]
    service = _maybe_scale(_maybe_roll(replace(service, replicas=tuple(aged)), tick), tick)
    service = _reconcile(service, list(service.replicas), tick)
    return _settle_status(service, tick)

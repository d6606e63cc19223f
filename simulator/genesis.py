"""The fleet at time zero: N services of M replicas, mostly READY, with a spread of other states."""

import math
import random
import uuid
from dataclasses import dataclass

from simulator import replica_life
from simulator.catalog import SHAPES, TEMPLATES, Template
from simulator.formatting import describe
from simulator.placement import choose_ip, choose_resources
from simulator.state import ALIVE, Identity, Policy, Replica, ReplicaStatus, Service, ServiceStatus

_DAY = 86400.0
# How a non-first replica starts out; the first replica of every service is READY.
_INITIAL_MIX: dict[ReplicaStatus, float] = {
    ReplicaStatus.READY: 0.70,
    ReplicaStatus.PENDING: 0.04,
    ReplicaStatus.PROVISIONING: 0.06,
    ReplicaStatus.STARTING: 0.05,
    ReplicaStatus.NOT_READY: 0.03,
    ReplicaStatus.SHUTTING_DOWN: 0.03,
    ReplicaStatus.PREEMPTED: 0.03,
    ReplicaStatus.FAILED: 0.015,
    ReplicaStatus.FAILED_PROBING: 0.015,
    ReplicaStatus.FAILED_PROVISION: 0.01,
    ReplicaStatus.FAILED_INITIAL_DELAY: 0.01,
    ReplicaStatus.FAILED_CLEANUP: 0.005,
}
# Statuses every fleet of a few replicas shows at least once, so consumers see them from the start.
_GUARANTEED = (ReplicaStatus.PENDING, ReplicaStatus.PROVISIONING, ReplicaStatus.STARTING)
_USERS = (("a1b2c3d4", "alice"), ("5e6f7a8b", "bob"), ("9c0d1e2f", "ml-platform"))
_CONTROLLER_FAILED_SHARE = 0.04
# How long ago a replica found mid-launch at time zero was launched (default: long ago).
_AGE = {ReplicaStatus.PROVISIONING: (0.0, 120.0), ReplicaStatus.STARTING: (120.0, 900.0)}


@dataclass(frozen=True)
class Origin:
    """The fleet's clock origin and RNG, shared by every builder below."""

    start: float
    rng: random.Random


def _template_order(services: int, rng: random.Random) -> list[Template]:
    order = list(TEMPLATES)
    rng.shuffle(order)
    multi = next(i for i, t in enumerate(order) if t.nodes > 1)
    # Make small fleets show a multi-node service too.
    if services >= 3 and multi >= services:
        order[2], order[multi] = order[multi], order[2]
    return [order[i % len(order)] for i in range(services)]


def _service_name(template: Template, seen: dict[str, int]) -> str:
    seen[template.name] = seen.get(template.name, 0) + 1
    count = seen[template.name]
    return template.name if count == 1 else f"{template.name}-{count}"


def _accelerators(template: Template) -> list[tuple[str, int]]:
    shapes = SHAPES[template.shape_class]
    return sorted({(s.accelerator, s.accelerator_count) for s in shapes if s.accelerator is not None})


def _requested_resources(template: Template) -> str:
    """``backend_utils.get_task_resources_str``: accelerator demands, else the CPU demand."""
    accelerators = [f"{name}:{count}" for name, count in _accelerators(template)]
    return f"{template.nodes}x[{', '.join(accelerators) or 'CPU:1+'}]"


def _accelerators_yaml(template: Template) -> str | None:
    accelerators = [f"{name}: {count}" for name, count in _accelerators(template)]
    return "{" + ", ".join(accelerators) + "}" if accelerators else None


def _identity(index: int, name: str, template: Template, origin: Origin) -> Identity:
    rng = origin.rng
    user_hash, user_name = rng.choice(_USERS)
    return Identity(
        name=name,
        template=template.name,
        model=template.model,
        shape_class=template.shape_class,
        accelerators_requested=_requested_resources(template),
        accelerators_yaml=_accelerators_yaml(template),
        port=template.port,
        nodes=template.nodes,
        spot_fraction=template.spot_fraction,
        disk_size=template.disk_size,
        image_id=template.image_id,
        load_balancing_policy=template.load_balancing_policy,
        tls=template.tls,
        controller_job_id=index + 1,
        controller_port=20001 + index,
        load_balancer_port=30001 + index,
        controller_pid=rng.randint(2000, 60000),
        lb_ip=choose_ip("AWS", rng),
        service_hash=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        user_hash=user_hash,
        user_name=user_name,
    )


def _policy(template: Template, target: int, rng: random.Random) -> Policy:
    if not template.autoscaling:
        return Policy(target, target, None)
    low = max(1, target - rng.randint(0, 2)) if target else 0
    return Policy(low, target + rng.randint(1, 4), rng.choice((1.0, 2.5, 5.0, 10.0)))


def _first_ready(statuses: list[ReplicaStatus]) -> list[ReplicaStatus]:
    return [ReplicaStatus.READY, *statuses[1:]] if statuses else []


def _plan(services: int, replicas: int, rng: random.Random) -> list[list[ReplicaStatus]]:
    mix, weights = list(_INITIAL_MIX), list(_INITIAL_MIX.values())
    plan = [_first_ready(rng.choices(mix, weights, k=replicas)) for _ in range(services)]
    slots = [(s, r) for s in reversed(range(services)) for r in reversed(range(1, replicas))]
    present = {status for row in plan for status in row}
    for status in _GUARANTEED:
        if status not in present and slots:
            s, r = slots.pop(0)
            plan[s][r] = status
    return plan


def _timing(status: ReplicaStatus, origin: Origin) -> tuple[bool, int | None, float]:
    """(has_cluster, launched_at, due) for a replica found in ``status`` at time zero."""
    rng, start = origin.rng, origin.start
    if status == ReplicaStatus.PENDING:
        return False, None, start + rng.uniform(0, replica_life.DWELL[status][1])
    if status in (ReplicaStatus.FAILED_CLEANUP, ReplicaStatus.READY):
        return True, int(start - rng.uniform(600, 7 * _DAY)), math.inf
    if status in replica_life.DWELL:
        launched = start - rng.uniform(*_AGE.get(status, (600, 2 * _DAY)))
        return True, int(launched), start + rng.uniform(0, replica_life.DWELL[status][1])
    return False, None, start + rng.uniform(*replica_life.FAILED_RECORD_LIFETIME)


def _replica(
    replica_id: int, status: ReplicaStatus, identity: Identity, version: int, origin: Origin
) -> Replica:
    resources = choose_resources(identity, origin.rng)
    if status == ReplicaStatus.PREEMPTED and not resources.spot:
        status = ReplicaStatus.READY
    has_cluster, launched_at, due = _timing(status, origin)
    queued = status == ReplicaStatus.PROVISIONING and resources.shape.cloud == "Kubernetes"
    return Replica(
        replica_id=replica_id,
        version=version,
        status=status,
        resources=resources,
        display=describe(resources),
        ip=choose_ip(resources.shape.cloud, origin.rng),
        has_cluster=has_cluster,
        launched_at=launched_at,
        due=due,
        status_detail=replica_life.QUEUE_DETAIL if queued else None,
    )


def _replicas(
    statuses: list[ReplicaStatus], identity: Identity, version: int, origin: Origin
) -> list[Replica]:
    out, next_id = [], 1
    for status in statuses:
        out.append(_replica(next_id, status, identity, version, origin))
        # Earlier replacements leave gaps in the ids, as on a long-running service.
        next_id += 1 + (origin.rng.randint(1, 3) if origin.rng.random() < 0.3 else 0)
    return out


def _initial_status(controller_failed: bool, ready: bool) -> ServiceStatus:
    if controller_failed:
        return ServiceStatus.CONTROLLER_FAILED
    return ServiceStatus.READY if ready else ServiceStatus.NO_REPLICA


def _service(
    index: int, name: str, template: Template, statuses: list[ReplicaStatus], origin: Origin
) -> Service:
    rng = origin.rng
    identity = _identity(index, name, template, origin)
    version = rng.choice((1, 1, 1, 2, 3))
    replicas = _replicas(statuses, identity, version, origin)
    target = sum(1 for r in replicas if r.status in ALIVE)
    ready = any(r.status == ReplicaStatus.READY for r in replicas)
    failed = index > 0 and rng.random() < _CONTROLLER_FAILED_SHARE
    return Service(
        identity=identity,
        policy=_policy(template, target, rng),
        status=_initial_status(failed, ready),
        version=version,
        uptime=int(origin.start - rng.uniform(3600, 30 * _DAY)) if ready else None,
        target=target,
        replicas=tuple(replicas),
        next_replica_id=(replicas[-1].replica_id + 1) if replicas else 1,
        target_visible=not failed,
        controller_failed=failed,
    )


def initial_fleet(services: int, replicas: int, origin: Origin) -> list[Service]:
    templates = _template_order(services, origin.rng)
    plan = _plan(services, replicas, origin.rng)
    seen: dict[str, int] = {}
    return [
        _service(i, _service_name(template, seen), template, plan[i], origin)
        for i, template in enumerate(templates)
    ]

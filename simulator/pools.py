"""Pools of workers for managed jobs, and what ``POST /jobs/pool_status`` answers about them.

A pool (``sky jobs pool apply``) is kept by the serve controller code on the jobs controller, so
``jobs.pool_status`` answers as ``serve.status`` does (skypilot 0.14.1
``sky/serve/server/impl.py`` ``status(pool=True)``, ``serve_utils._get_service_status``): one
record per pool with ``pool`` true, no endpoint or load balancer, the pool form of the policy
(``SkyServiceSpec.autoscaling_policy_str``) and a ``replica_info`` list whose workers carry
``used_by``, the ids of the managed jobs running on them (pool-level jobs on READY workers only).
The encoder and serializer are serve.status's (``encoders.encode_jobs_pool_status``,
``serialize_serve_status``): a worker's handle is null for clients of API version 51 and later.

The model is a pure function of simulated time, so it needs no stepping of its own: each pool
scales between its minimum and maximum over ``SCALE_PERIOD`` seconds (workers launched on scale-up
are PROVISIONING, then STARTING, then READY; those dropped on scale-down are SHUTTING_DOWN for a
while), and each READY worker runs one job per ``JOB_SECONDS`` slot, or sits idle, as a seeded hash
of (pool, worker, slot) decides.
"""

import hashlib
from dataclasses import dataclass
from typing import Any

from simulator import wire
from simulator.catalog import Shape
from simulator.formatting import Resources, describe

SCALE_PERIOD = 1800.0
JOB_SECONDS = 300.0
PROVISION_SECONDS = 60.0
START_SECONDS = 60.0
SHUTDOWN_SECONDS = 60.0
_DAY = 86400


@dataclass(frozen=True)
class PoolSpec:
    """One pool: its workers' hardware and place, how it scales and how busy it is."""

    name: str
    shape: Shape
    region: str
    zone: str | None
    min_workers: int
    max_workers: int
    queue_threshold: int | None  # None: a fixed-size pool
    busy_share: float  # the share of job slots a READY worker spends running a job
    spot: bool = False

    @property
    def policy(self) -> str:
        if self.queue_threshold is None:
            return f"Fixed-size ({self.min_workers} workers)"
        plural_max = "" if self.max_workers == 1 else "s"
        return (
            f"Autoscaling from {self.min_workers} to {self.max_workers} worker{plural_max} "
            f"(queue threshold: {self.queue_threshold})"
        )


# What --demo runs: a busy autoscaling pool of L4s and a fixed pool of 8xH100s that mostly idles,
# the expensive thing nobody looks at.
DEMO_POOLS = (
    PoolSpec(
        "batch-l4",
        Shape("AWS", "g6.xlarge", "L4", 1, 4, 16),
        "us-east-2",
        "us-east-2a",
        min_workers=1,
        max_workers=4,
        queue_threshold=5,
        busy_share=0.8,
    ),
    PoolSpec(
        "train-h100",
        Shape("AWS", "p5.48xlarge", "H100", 8, 192, 2048),
        "us-east-1",
        "us-east-1a",
        min_workers=2,
        max_workers=2,
        queue_threshold=None,
        busy_share=0.15,
    ),
)


def _fraction(*parts: object) -> float:
    """A stable number in [0, 1) for the parts (no RNG state: the model is a function of time)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Worker:
    worker_id: int
    status: str
    launched_at: int | None
    used_by: tuple[int, ...]


class Pools:
    """The pools the jobs controller keeps; ``records(now)`` is what ``pool_status`` returns."""

    def __init__(self, specs: tuple[PoolSpec, ...], start_time: float) -> None:
        self.specs = specs
        self._start = start_time

    def __len__(self) -> int:
        return len(self.specs)

    def workers(self, spec: PoolSpec, now: float) -> list[Worker]:
        """The pool's workers at ``now``, by id."""
        elapsed = max(0.0, now - self._start)
        cycle, into = divmod(elapsed, SCALE_PERIOD)
        # Up to the maximum in the first half of each period, down to the minimum in the second.
        scaled_up = into < SCALE_PERIOD / 2
        since_change = into if scaled_up else into - SCALE_PERIOD / 2
        changed_at = now - since_change
        out = []
        for worker_id in range(1, spec.max_workers + 1):
            if worker_id <= spec.min_workers:
                launched = int(self._start) - _DAY * worker_id
                out.append(self._worker(spec, worker_id, launched, now, "READY"))
            elif scaled_up:
                out.append(self._launching(spec, worker_id, int(changed_at), since_change, now))
            elif since_change < SHUTDOWN_SECONDS and cycle >= 0:
                out.append(Worker(worker_id, "SHUTTING_DOWN", int(changed_at - SCALE_PERIOD / 2), ()))
        return out

    def _launching(self, spec: PoolSpec, worker_id: int, launched: int, age: float, now: float) -> Worker:
        if age < PROVISION_SECONDS:
            return Worker(worker_id, "PROVISIONING", launched, ())
        if age < PROVISION_SECONDS + START_SECONDS:
            return Worker(worker_id, "STARTING", launched, ())
        return self._worker(spec, worker_id, launched, now, "READY")

    def _worker(self, spec: PoolSpec, worker_id: int, launched: int, now: float, status: str) -> Worker:
        slot = int(max(0.0, now - self._start) // JOB_SECONDS) + 1
        busy = _fraction(spec.name, worker_id, slot) < spec.busy_share
        # Job ids grow with time, one per (slot, pool, worker), as the jobs table's would.
        job_id = slot * 100 + self.specs.index(spec) * 10 + worker_id
        return Worker(worker_id, status, launched, (job_id,) if busy else ())

    def records(self, now: float) -> list[dict[str, Any]]:
        return [self._record(index, spec, now) for index, spec in enumerate(self.specs)]

    def _record(self, index: int, spec: PoolSpec, now: float) -> dict[str, Any]:
        workers = self.workers(spec, now)
        ready = any(w.status == "READY" for w in workers)
        alive = sum(1 for w in workers if w.status != "SHUTTING_DOWN")
        return {
            "name": spec.name,
            "controller_job_id": 101 + index,
            "controller_port": None,
            "load_balancer_port": None,
            "status": "READY" if ready else "NO_REPLICA",
            "uptime": int(self._start) - _DAY if ready else None,
            "policy": spec.policy,
            "version": 1,
            "active_versions": [1] if ready else [],
            "requested_resources_str": f"1x[{spec.shape.accelerator}:{spec.shape.accelerator_count}]",
            "load_balancing_policy": None,
            "tls_encrypted": False,
            "pool": True,
            "controller_pid": 52000 + index,
            "controller_ip": None,
            "hash": f"{_fraction(spec.name):.16f}"[2:18],
            "entrypoint": f"sky jobs pool apply pool.yaml -p {spec.name} -y",
            "user_hash": wire.SERVER_USER_HASH,
            "yaml_content": _pool_yaml(spec),
            "pool_yaml": _pool_yaml(spec),
            "target_num_replicas": alive,
            "replica_info": [_worker_dict(spec, worker) for worker in workers],
            "endpoint": None,
            "user_name": wire.SERVER_USER_NAME,
        }


def _resources(spec: PoolSpec) -> Resources:
    return Resources(spec.shape, spec.region, spec.zone, 1, spec.spot, 256, None, 22)


def _worker_dict(spec: PoolSpec, worker: Worker) -> dict[str, Any]:
    out: dict[str, Any] = {
        "replica_id": worker.worker_id,
        "name": f"{spec.name}-{worker.worker_id}",
        "status": worker.status,
        "version": 1,
        "replica_info_version": wire.REPLICA_INFO_VERSION,
        "endpoint": None,  # to_info_dict(with_url=not pool)
        "is_spot": spec.spot,
        "launched_at": worker.launched_at,
    }
    # Every worker modelled here has its cluster (a PROVISIONING one's is being launched), as the
    # fleet's PROVISIONING replicas do.
    display = describe(_resources(spec))
    out["cloud"] = spec.shape.cloud
    out["region"] = spec.region
    out["resources_str"] = display.resources_str
    out["resources_str_full"] = display.resources_str_full
    out["infra"] = display.infra
    out["handle"] = None
    out["used_by"] = list(worker.used_by)
    return out


def _pool_yaml(spec: PoolSpec) -> str:
    """The pool's YAML. It carries a secret on purpose: consumers must never export it."""
    return (
        f"pool:\n  workers: {spec.min_workers}\n"
        f"resources:\n  accelerators: {spec.shape.accelerator}:{spec.shape.accelerator_count}\n"
        "envs:\n  WANDB_API_KEY: simulated_pool_secret\n"
    )

"""The simulated fleet: a pure, seeded model with no I/O, safe to read while a ticker steps it."""

import random
import threading
from dataclasses import replace
from typing import Any

from simulator import service_life
from simulator.genesis import Origin, initial_fleet
from simulator.render import service_dict
from simulator.replica_life import Tick
from simulator.state import ReplicaStatus, Service

DEFAULT_START_TIME = 1795820000.0


class Fleet:
    """N SkyServe services of M replicas that live, fail, scale and roll as simulated time passes.

    The same seed and the same sequence of ``step`` calls give the same fleet. Records are
    immutable, so readers copy references under the lock and render outside it.
    """

    def __init__(
        self, services: int, replicas_per_service: int, seed: int, start_time: float = DEFAULT_START_TIME
    ) -> None:
        if services < 0 or replicas_per_service < 0:
            raise ValueError("services and replicas_per_service must be >= 0")
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._now = start_time
        self._base: str | None = None
        built = initial_fleet(services, replicas_per_service, Origin(start_time, self._rng))
        self._services: dict[str, Service] = {s.name: s for s in built}

    @property
    def now(self) -> float:
        """Simulated time (Unix seconds)."""
        with self._lock:
            return self._now

    def step(self, seconds: float = 10.0) -> None:
        """Advance simulated time by ``seconds``; each replica moves at most one status."""
        if seconds <= 0:
            raise ValueError("seconds must be > 0")
        with self._lock:
            self._now += seconds
            tick = Tick(self._now, seconds, self._rng)
            self._services = {name: service_life.advance(s, tick) for name, s in self._services.items()}

    def _snapshot(self) -> tuple[list[Service], str | None]:
        with self._lock:
            return list(self._services.values()), self._base

    def services(self) -> list[dict[str, Any]]:
        """The wire-format service list (a fresh copy; callers may mutate it)."""
        services, base = self._snapshot()
        return [service_dict(s, base) for s in services]

    def remove_replica(self, service_name: str, replica_id: int) -> None:
        """Make a replica vanish upstream, as if purged; the autoscaler may replace it later."""
        with self._lock:
            service = self._services[service_name]
            kept = tuple(r for r in service.replicas if r.replica_id != replica_id)
            if len(kept) == len(service.replicas):
                raise KeyError(f"{service_name} has no replica {replica_id}")
            self._services[service_name] = replace(service, replicas=kept)

    def remove_service(self, service_name: str) -> None:
        with self._lock:
            del self._services[service_name]

    def set_endpoint_base(self, base_url: str) -> None:
        """Serve endpoints as ``{base}/services/<name>`` and ``{base}/replicas/<name>/<id>``."""
        with self._lock:
            self._base = base_url.rstrip("/")

    def service_ready(self, service_name: str) -> bool | None:
        """Whether the service has a READY replica; None if there is no such service."""
        with self._lock:
            service = self._services.get(service_name)
        if service is None:
            return None
        return any(r.status == ReplicaStatus.READY for r in service.replicas)

    def replica_ready(self, service_name: str, replica_id: int) -> bool | None:
        """Whether the replica is READY; None if there is no such replica."""
        with self._lock:
            service = self._services.get(service_name)
        replicas = service.replicas if service is not None else ()
        match = next((r for r in replicas if r.replica_id == replica_id), None)
        return None if match is None else match.status == ReplicaStatus.READY

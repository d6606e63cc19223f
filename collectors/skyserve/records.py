"""Typed service and replica records, parsed leniently from ``serve status`` wire dicts.

A record without a usable identity (name, replica id) or status is skipped and counted by reason;
the rest of the fleet is still parsed. Only the keys below are read: ``yaml_content`` (the task
YAML, which may hold secrets) and ``handle`` (a pickle on old servers) are never touched.
"""

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from collectors.skyserve.placement import Placement, PlacementKey, placement_key, placement_of

INVALID_SERVICE = "invalid_service"
INVALID_REPLICA = "invalid_replica"
DUPLICATE_SERVICE = "duplicate_service"
DUPLICATE_REPLICA = "duplicate_replica"


@dataclass(frozen=True, slots=True)
class ReplicaRecord:
    service_name: str
    replica_id: int
    status: str
    version: int | None
    endpoint: str | None
    is_spot: bool
    launched_at: float | None
    placement: Placement


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    name: str
    status: str
    ready_since: float | None  # SkyServe's ``uptime``: the Unix time it first became READY
    endpoint: str | None
    version: int | None
    active_versions: tuple[int, ...]
    policy: str
    load_balancing_policy: str
    tls_encrypted: bool
    target_num_replicas: int | None
    replicas: tuple[ReplicaRecord, ...]


@dataclass(frozen=True)
class Fleet:
    services: tuple[ServiceRecord, ...]
    skipped: Mapping[str, int]


def parse_fleet(raw_services: Any) -> Fleet:
    """Every well-formed service, in upstream order, and how many records were skipped and why."""
    return _FleetParser().fleet(raw_services)


class _FleetParser:
    """One parse: the skip counts, and placements already read (replicas mostly share them)."""

    def __init__(self) -> None:
        self.skipped: Counter[str] = Counter()
        self._placements: dict[PlacementKey, Placement] = {}

    def fleet(self, raw_services: Any) -> Fleet:
        services: dict[str, ServiceRecord] = {}
        for raw in raw_services:
            service = self.service(raw)
            if service is None:
                continue
            if service.name in services:
                self.skipped[DUPLICATE_SERVICE] += 1
                continue
            services[service.name] = service
        return Fleet(services=tuple(services.values()), skipped=dict(self.skipped))

    def service(self, raw: Any) -> ServiceRecord | None:
        """One service, or None (counted) when it has no name, status or replica list."""
        if not isinstance(raw, Mapping):
            self.skipped[INVALID_SERVICE] += 1
            return None
        name, status, replicas = raw.get("name"), raw.get("status"), raw.get("replica_info", [])
        if not _nonempty(name) or not _nonempty(status) or not isinstance(replicas, list):
            self.skipped[INVALID_SERVICE] += 1
            return None
        return ServiceRecord(
            name=name,
            status=status,
            ready_since=_timestamp(raw.get("uptime")),
            endpoint=_optional_text(raw.get("endpoint")),
            version=_int(raw.get("version")),
            active_versions=tuple(v for v in _list(raw.get("active_versions")) if _int(v) is not None),
            policy=_optional_text(raw.get("policy")) or "",
            load_balancing_policy=_optional_text(raw.get("load_balancing_policy")) or "",
            tls_encrypted=raw.get("tls_encrypted") is True,
            target_num_replicas=_int(raw.get("target_num_replicas")),
            replicas=self.replicas(name, replicas),
        )

    def replicas(self, service_name: str, raw_replicas: list[Any]) -> tuple[ReplicaRecord, ...]:
        replicas: dict[int, ReplicaRecord] = {}
        for raw in raw_replicas:
            replica = self.replica(service_name, raw)
            if replica is None:
                self.skipped[INVALID_REPLICA] += 1
            elif replica.replica_id in replicas:
                # Two series with one label set would make the whole exposition invalid.
                self.skipped[DUPLICATE_REPLICA] += 1
            else:
                replicas[replica.replica_id] = replica
        return tuple(replicas.values())

    def replica(self, service_name: str, raw: Any) -> ReplicaRecord | None:
        """One replica, or None when it has no integer id or string status."""
        if not isinstance(raw, Mapping):
            return None
        replica_id, status = _int(raw.get("replica_id")), raw.get("status")
        if replica_id is None or not _nonempty(status):
            return None
        is_spot = raw.get("is_spot")
        placement = self.placement(raw)
        return ReplicaRecord(
            service_name=service_name,
            replica_id=replica_id,
            status=status,
            version=_int(raw.get("version")),
            endpoint=_optional_text(raw.get("endpoint")),
            is_spot=is_spot if isinstance(is_spot, bool) else placement.resources.spot,
            launched_at=_timestamp(raw.get("launched_at")),
            placement=placement,
        )

    def placement(self, raw: Mapping[str, Any]) -> Placement:
        key = placement_key(raw)
        placement = self._placements.get(key)
        if placement is None:
            placement = self._placements[key] = placement_of(key)
        return placement


def _nonempty(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())


def _int(value: Any) -> int | None:
    # bool is an int subclass; True is not a replica id.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _timestamp(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []

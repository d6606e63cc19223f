"""Typed service and replica records, parsed leniently from ``serve status`` wire dicts.

A record without a usable identity (name, replica id) or status is skipped and counted by reason;
the rest of the fleet is still parsed. So is a record with a label text that cannot be written as
UTF-8 (JSON lets a lone surrogate such as ``\\ud800`` through): it would fail the whole exposition.
Only the keys below are read: ``yaml_content`` (the task YAML, which may hold secrets) and
``handle`` (a pickle on old servers) are never touched.
"""

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from collectors.skyserve.placement import Placement, PlacementKey, placement_key, placement_of
from exporter.upstream import encodable

INVALID_SERVICE = "invalid_service"
INVALID_REPLICA = "invalid_replica"
DUPLICATE_SERVICE = "duplicate_service"
DUPLICATE_REPLICA = "duplicate_replica"
BAD_ENCODING = "bad_encoding"


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
        # None: the strings cannot be encoded, so no replica placed there can be exported.
        self._placements: dict[PlacementKey, Placement | None] = {}

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
        endpoint = _optional_text(raw.get("endpoint"))
        load_balancing_policy = _optional_text(raw.get("load_balancing_policy")) or ""
        if not _all_encodable(name, status, endpoint or "", load_balancing_policy):
            self.skipped[BAD_ENCODING] += 1
            return None
        return ServiceRecord(
            name=name,
            status=status,
            ready_since=_timestamp(raw.get("uptime")),
            endpoint=endpoint,
            version=_int(raw.get("version")),
            active_versions=tuple(v for v in _list(raw.get("active_versions")) if _int(v) is not None),
            policy=_optional_text(raw.get("policy")) or "",
            load_balancing_policy=load_balancing_policy,
            tls_encrypted=raw.get("tls_encrypted") is True,
            target_num_replicas=_int(raw.get("target_num_replicas")),
            replicas=self.replicas(name, replicas),
        )

    def replicas(self, service_name: str, raw_replicas: list[Any]) -> tuple[ReplicaRecord, ...]:
        replicas: dict[int, ReplicaRecord] = {}
        for raw in raw_replicas:
            replica = self.replica(service_name, raw)
            if isinstance(replica, str):
                self.skipped[replica] += 1
            elif replica.replica_id in replicas:
                # Two series with one label set would make the whole exposition invalid.
                self.skipped[DUPLICATE_REPLICA] += 1
            else:
                replicas[replica.replica_id] = replica
        return tuple(replicas.values())

    def replica(self, service_name: str, raw: Any) -> ReplicaRecord | str:
        """One replica, or why it is skipped: no integer id or string status, or bad encoding."""
        if not isinstance(raw, Mapping):
            return INVALID_REPLICA
        replica_id, status = _int(raw.get("replica_id")), raw.get("status")
        if replica_id is None or not _nonempty(status):
            return INVALID_REPLICA
        endpoint = _optional_text(raw.get("endpoint"))
        placement = self.placement(raw)
        # isascii() inline first: this runs for every replica (100k in a large fleet).
        if placement is None or not (
            (status.isascii() and (endpoint is None or endpoint.isascii()))
            or _all_encodable(status, endpoint or "")
        ):
            return BAD_ENCODING
        is_spot = raw.get("is_spot")
        return ReplicaRecord(
            service_name=service_name,
            replica_id=replica_id,
            status=status,
            version=_int(raw.get("version")),
            endpoint=endpoint,
            is_spot=is_spot if isinstance(is_spot, bool) else placement.resources.spot,
            launched_at=_timestamp(raw.get("launched_at")),
            placement=placement,
        )

    def placement(self, raw: Mapping[str, Any]) -> Placement | None:
        """The replica's placement, or None when its strings cannot be encoded (checked once per key)."""
        key = placement_key(raw)
        try:
            return self._placements[key]
        except KeyError:
            placement = placement_of(key) if _all_encodable(*key) else None
            self._placements[key] = placement
            return placement


def _nonempty(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())


def _all_encodable(*texts: str) -> bool:
    return all(encodable(text) for text in texts)


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

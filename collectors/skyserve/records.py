"""Typed service, replica and controller records, parsed leniently from the API server's wire dicts.

A record without a usable identity (name, replica id) or status is skipped and counted by reason;
the rest of the fleet is still parsed. So is a record with a label text that cannot be written as
UTF-8 (JSON lets a lone surrogate such as ``\\ud800`` through): it would fail the whole exposition.
Only the keys below are read: ``yaml_content`` (the task YAML, which may hold secrets) and
``handle`` (a pickle on old servers) are never touched.

Where a replica runs and on what (its ``Placement``) is read from SkyServe's display strings.
``resources_str_full`` comes from SkyPilot's ``resources_utils.format_resource``:
``{nodes}x[spot]({components})`` where the components are, in order, ``gpus=NAME:COUNT``,
``cpus=N``, ``mem=N``, the bare instance type (absent on Kubernetes), then ``image_id=...``,
``disk=N``, ``disk_tier=...``, ``ports=[...]``. The simplified form ends in ``...`` and cuts long
instance types to 15 characters with a trailing ``...``.

``infra`` comes from ``InfraInfo.formatted_str``: ``{cloud} ({zone or region})`` with the part in
parentheses cut in the middle to 25 characters (``us-ea...st-2a``) when longer.

Controller records come from ``status`` (``sky/server/requests/serializers/encoders.py``
``encode_status``: ``StatusResponse.model_dump(exclude_none=True)``, status as its string value).
They carry ``cloud``, ``region`` and ``resources_str_full`` (the same ``format_resource`` text as a
replica's) but no ``infra`` and so no zone; ``cpus`` and ``memory`` are the *requested* values
(``4+``), not what the instance has, so the resources string is what is parsed.
"""

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from collectors.skyserve.wire import ReplicaWire, ServiceWire, services_of
from exporter.upstream import encodable

INVALID_SERVICE = "invalid_service"
INVALID_REPLICA = "invalid_replica"
DUPLICATE_SERVICE = "duplicate_service"
DUPLICATE_REPLICA = "duplicate_replica"
BAD_ENCODING = "bad_encoding"
INVALID_CONTROLLER = "invalid_controller"
DUPLICATE_CONTROLLER = "duplicate_controller"

# sky/utils/common.py: controller clusters are named ``<prefix><the API server's user hash>``.
SERVE_CONTROLLER_PREFIX = "sky-serve-controller-"
JOBS_CONTROLLER_PREFIX = "sky-jobs-controller-"
CONTROLLER_KINDS = {SERVE_CONTROLLER_PREFIX: "serve", JOBS_CONTROLLER_PREFIX: "jobs"}

_RESOURCES = re.compile(r"\s*(\d+)x\s*(\[spot\])?\s*[A-Za-z0-9_-]*\s*\((.*)\)\s*", re.IGNORECASE | re.DOTALL)
_INFRA = re.compile(r"[^()]*\((.*)\)\s*", re.DOTALL)
_TRUNCATION = "..."
_TRUNCATED_LENGTH = 25
# Clouds whose parenthesised infra text is a context or pool name, never a zone.
_ZONELESS_CLOUDS = frozenset({"kubernetes", "ssh"})
_OPEN = "([{"
# One component: plain characters, or a bracketed group (one level deep, as SkyPilot writes them).
_COMPONENT = re.compile(r"(?:[^,\[{(]|\[[^\]]*\]|\{[^}]*\}|\([^)]*\))+")


@dataclass(frozen=True, slots=True)
class Resources:
    """What ``resources_str_full`` says; empty strings and None where it says nothing."""

    nodes: int | None = None
    spot: bool = False
    accelerator: str = ""
    accelerators_per_node: float | None = None
    instance_type: str = ""
    cpus: float | None = None
    memory_gib: float | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """A replica's cloud, location and hardware; empty strings where SkyServe has not said yet."""

    cloud: str = ""
    region: str = ""
    zone: str = ""
    resources: Resources = Resources()

    @property
    def accelerators_total(self) -> float | None:
        per_node, nodes = self.resources.accelerators_per_node, self.resources.nodes
        return None if per_node is None or nodes is None else per_node * nodes


PlacementKey = tuple[str, str, str, str]
_UNREAD = Placement()  # a sentinel: the placement of this key is not read yet


SERVICE = "service"
POOL = "pool"


@dataclass(frozen=True, slots=True)
class ReplicaRecord:
    service_name: str  # the pool's name for a pool's worker
    replica_id: int
    status: str
    version: int | None
    endpoint: str | None
    is_spot: bool
    launched_at: float | None
    placement: Placement
    kind: str = SERVICE  # SERVICE, or POOL for a worker of a jobs pool
    used_by: tuple[int, ...] = ()  # a pool worker's managed jobs running now (``used_by``)


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


@dataclass(frozen=True, slots=True)
class ControllerRecord:
    """A controller cluster as ``status`` reports it: which, in what state, where and on what."""

    name: str
    kind: str  # "serve" or "jobs", from the name's prefix
    status: str  # a ClusterStatus value (INIT, UP, STOPPED, AUTOSTOPPING, PENDING) or one we do not know
    launched_at: float | None
    autostop_minutes: int | None  # None when autostop is off (SkyPilot's -1) or not reported
    to_down: bool  # autostop tears the cluster down instead of stopping it
    placement: Placement  # no zone: status records have no ``infra``


@dataclass(frozen=True)
class Controllers:
    """The controller clusters in ``status`` order (latest launched first), and what was skipped."""

    records: tuple[ControllerRecord, ...] = ()
    skipped: Mapping[str, int] = field(default_factory=dict)


def parse_fleet(raw_services: Sequence[ServiceWire | None] | Sequence[Any]) -> Fleet:
    """Every well-formed service, in upstream order, and how many records were skipped and why.

    ``raw_services`` are wire records (``wire.decode_services``), or records as ``json`` decodes
    them, which are converted first."""
    return FleetParser().fleet(_as_wire(raw_services))


def parse_pools(raw_pools: Sequence[ServiceWire | None] | Sequence[Any]) -> Fleet:
    """Every well-formed pool of ``jobs.pool_status`` (as services: ``serve.status``'s shape), its
    workers as replicas of kind ``pool`` with the jobs running on them."""
    return FleetParser(kind=POOL).fleet(_as_wire(raw_pools))


def _as_wire(records: Sequence[Any]) -> Sequence[ServiceWire | None]:
    if all(record is None or isinstance(record, ServiceWire) for record in records):
        return records
    return services_of(list(records))


class FleetParser:
    """One parse: the skip counts, and placements already read (replicas mostly share them)."""

    def __init__(
        self, kind: str = SERVICE, placements: dict[tuple[Any, ...], Placement | None] | None = None
    ) -> None:
        self.kind = kind
        self.skipped: Counter[str] = Counter()
        # None: the strings cannot be encoded, so no replica placed there can be exported.
        # Given, it outlives the parse (memo.ServiceMemo): a placement is then the same object
        # from poll to poll, and is priced once, not once per poll.
        self._placements = {} if placements is None else placements

    def fleet(self, raw_services: Sequence[ServiceWire | None]) -> Fleet:
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

    def counted_apart(self, raw: ServiceWire | None) -> tuple[ServiceRecord | None, dict[str, int]]:
        """One service and what parsing it skipped, counted apart from the services before it."""
        self.skipped = Counter()
        return self.service(raw), dict(self.skipped)

    def service(self, raw: ServiceWire | None) -> ServiceRecord | None:
        """One service, or None (counted) when it has no name, status or replica list."""
        if raw is None:
            self.skipped[INVALID_SERVICE] += 1
            return None
        name, status, replicas = raw.name, raw.status, raw.replica_info
        if not _nonempty(name) or not _nonempty(status) or replicas is None:
            self.skipped[INVALID_SERVICE] += 1
            return None
        endpoint = _optional_text(raw.endpoint)
        load_balancing_policy = _optional_text(raw.load_balancing_policy) or ""
        if not _all_encodable(name, status, endpoint or "", load_balancing_policy):
            self.skipped[BAD_ENCODING] += 1
            return None
        return ServiceRecord(
            name=name,
            status=status,
            ready_since=_timestamp(raw.uptime),
            endpoint=endpoint,
            version=_int(raw.version),
            active_versions=tuple(v for v in _list(raw.active_versions) if _int(v) is not None),
            policy=_optional_text(raw.policy) or "",
            load_balancing_policy=load_balancing_policy,
            tls_encrypted=raw.tls_encrypted is True,
            target_num_replicas=_int(raw.target_num_replicas),
            replicas=self.replicas(name, replicas),
        )

    def replicas(
        self, service_name: str, raw_replicas: list[ReplicaWire | None]
    ) -> tuple[ReplicaRecord, ...]:
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

    def replica(self, service_name: str, raw: ReplicaWire | None) -> ReplicaRecord | str:
        """One replica, or why it is skipped: no integer id or string status, or bad encoding."""
        if raw is None:
            return INVALID_REPLICA
        # The checks of _int, _nonempty and _optional_text, inline: this runs for every replica
        # of the fleet (``type(...) is int`` leaves out bool, as _int does).
        replica_id, status, endpoint = raw.replica_id, raw.status, raw.endpoint
        if type(replica_id) is not int or type(status) is not str or not status.strip():
            return INVALID_REPLICA
        if type(endpoint) is not str or not endpoint:
            endpoint = None
        placement = self.placement(raw)
        # isascii() inline first: this runs for every replica (100k in a large fleet).
        if placement is None or not (
            (status.isascii() and (endpoint is None or endpoint.isascii()))
            or _all_encodable(status, endpoint or "")
        ):
            return BAD_ENCODING
        is_spot = raw.is_spot
        return ReplicaRecord(
            service_name=service_name,
            replica_id=replica_id,
            status=status,
            version=raw.version if type(raw.version) is int else None,
            endpoint=endpoint,
            is_spot=is_spot if type(is_spot) is bool else placement.resources.spot,
            launched_at=_timestamp(raw.launched_at),
            placement=placement,
            kind=self.kind,
            used_by=_job_ids(raw.used_by) if self.kind == POOL else (),
        )

    def placement(self, raw: ReplicaWire) -> Placement | None:
        """The replica's placement, or None when its strings cannot be encoded (checked once per key)."""
        # Keyed first by the four values as sent, which replicas placed alike share: most
        # replicas then cost one lookup. A value that cannot be a key (a list) takes the long way.
        sent = (raw.cloud, raw.region, raw.infra, raw.resources_str_full)
        try:
            return self._placements[sent]
        except KeyError:
            hashable = True
        except TypeError:
            hashable = False
        key = placement_key(raw)
        placement = self._placements.get(key, _UNREAD)
        if placement is _UNREAD:
            placement = placement_of(key) if _all_encodable(*key) else None
            self._placements[key] = placement
        if hashable:
            self._placements[sent] = placement
        return placement


def parse_controllers(raw_records: Any) -> Controllers:
    """Every well-formed controller record, in upstream order, and how many were skipped and why."""
    skipped: Counter[str] = Counter()
    found: dict[str, ControllerRecord] = {}
    for raw in raw_records:
        record = _controller(raw)
        if isinstance(record, str):
            skipped[record] += 1
        elif record.name in found:
            skipped[DUPLICATE_CONTROLLER] += 1
        else:
            found[record.name] = record
    return Controllers(records=tuple(found.values()), skipped=dict(skipped))


def controller_kind(name: str) -> str | None:
    """``serve`` or ``jobs`` for a controller cluster's name; None for any other cluster."""
    return next((kind for prefix, kind in CONTROLLER_KINDS.items() if name.startswith(prefix)), None)


def _controller(raw: Any) -> ControllerRecord | str:
    """One controller, or why it is skipped: not a controller's name, no status, or bad encoding."""
    if not isinstance(raw, Mapping):
        return INVALID_CONTROLLER
    name, status = raw.get("name"), raw.get("status")
    if not _nonempty(name) or not _nonempty(status):
        return INVALID_CONTROLLER
    kind = controller_kind(name)
    if kind is None:
        return INVALID_CONTROLLER
    key = (_text(raw.get("cloud")), _text(raw.get("region")), "", _text(raw.get("resources_str_full")))
    if not _all_encodable(name, status, *key):
        return BAD_ENCODING
    autostop = _int(raw.get("autostop"))
    return ControllerRecord(
        name=name,
        kind=kind,
        status=status,
        launched_at=_timestamp(raw.get("launched_at")),
        autostop_minutes=autostop if autostop is not None and autostop >= 0 else None,
        to_down=raw.get("to_down") is True,
        placement=placement_of(key),
    )


def placement_key(replica: ReplicaWire) -> PlacementKey:
    """The four strings a placement is read from; replicas of one service usually share them."""
    return (
        _text(replica.cloud),
        _text(replica.region),
        _text(replica.infra),
        _text(replica.resources_str_full),
    )


def placement_of(key: PlacementKey) -> Placement:
    """The placement the strings describe; absent keys (a PENDING replica) give empty fields."""
    cloud_text, region, infra, resources = key
    cloud = cloud_text.lower()
    return Placement(
        cloud=cloud,
        region=region,
        zone=zone_from_infra(infra, cloud, region),
        resources=parse_resources(resources),
    )


def zone_from_infra(infra: str, cloud: str, region: str) -> str:
    """The zone shown in ``infra``, only when it is certainly one.

    It must be whole (not cut with ``...``), differ from the region and start with it, as zones do on
    AWS (``us-east-2a``) and GCP (``us-central1-a``). Anything else (a region, a Kubernetes context, an
    SSH pool, a truncated name, a zone naming scheme we do not know) gives "" rather than a guess.
    """
    if cloud in _ZONELESS_CLOUDS or not region:
        return ""
    match = _INFRA.fullmatch(infra)
    if match is None:
        return ""
    shown = match.group(1).strip()
    if _TRUNCATION in shown or len(shown) > _TRUNCATED_LENGTH:
        return ""
    return shown if shown != region and shown.startswith(region) else ""


def parse_resources(text: str) -> Resources:
    """Read a ``resources_str_full`` string; an unrecognised one gives an empty ``Resources``."""
    match = _RESOURCES.fullmatch(text)
    if match is None:
        return Resources()
    fields: dict[str, Any] = {"nodes": int(match.group(1)), "spot": match.group(2) is not None}
    for component in split_top_level(match.group(3)):
        fields.update(_component(component, has_instance_type="instance_type" in fields))
    return Resources(**fields)


def split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets: ``ports=['80', '443']`` and image_id dicts stay whole."""
    return [part.strip() for part in _COMPONENT.findall(text) if part.strip()]


def _component(component: str, has_instance_type: bool) -> dict[str, Any]:
    key, sep, value = component.partition("=")
    if sep:
        return _keyed(key.strip(), value.strip())
    if has_instance_type or component.endswith(_TRUNCATION) or component[0] in _OPEN:
        return {}
    return {"instance_type": component}


def _keyed(key: str, value: str) -> dict[str, Any]:
    if key == "gpus":
        name, _, count = value.rpartition(":")
        per_node = _number(count)
        if not name or per_node is None:
            return {"accelerator": value, "accelerators_per_node": None}
        return {"accelerator": name, "accelerators_per_node": per_node}
    if key == "cpus":
        return {"cpus": _number(value)}
    if key == "mem":
        return {"memory_gib": _number(value)}
    return {}


def _number(text: str) -> float | None:
    try:
        return float(text.rstrip("+"))
    except ValueError:
        return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


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


def _job_ids(value: Any) -> tuple[int, ...]:
    """``used_by``: a list of managed job ids (a string in very old records, read as one job)."""
    if isinstance(value, str):
        return (-1,) if value.strip() and value.strip() != "-" else ()  # one job, id unknown
    return tuple(job for job in _list(value) if _int(job) is not None)


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []

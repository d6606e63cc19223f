"""What a collector is: a named source with a strict config, a metric table, fetch() and build().

``fetch()`` does all I/O with its timeouts inside; ``build()`` turns what was fetched into typed
records and metric families without I/O. Collectors never catch exceptions to report them: the
runner does that, in one place.
"""

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, Self, TypeVar, runtime_checkable

import requests
from prometheus_client.core import Metric
from pydantic import BaseModel, ConfigDict, model_validator

from exporter.config_errors import key_error
from exporter.durations import Duration
from exporter.metrics import MetricTable
from exporter.sharding import UNSHARDED, Shard
from exporter.upstream import DEFAULT_BODY_SIZE_LIMIT, ByteSize

Clock = Callable[[], float]
ServiceType = TypeVar("ServiceType")


class StrictModel(BaseModel):
    """Config and records: immutable, and an unknown key is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SectionConfig(StrictModel):
    """What the framework reads from any validated section: whether it runs, and how long its
    data may be served after the last good run."""

    enabled: bool = True

    @property
    def stale_after_seconds(self) -> float:
        raise NotImplementedError


class CollectorConfig(SectionConfig):
    """Keys every collector section accepts; a collector's own model adds its keys.

    ``body_size_limit`` caps each upstream answer (after decompression), as Prometheus's scrape
    config of the same name does.
    """

    interval: Duration = 30.0
    timeout: Duration = 20.0
    stale_after: Duration | None = None  # default: 3 x interval
    body_size_limit: ByteSize = DEFAULT_BODY_SIZE_LIMIT

    @model_validator(mode="after")
    def _timeout_within_interval(self) -> Self:
        # As in Prometheus's scrape config: a run that may outlast its interval would overlap
        # the next one. Left unset, the timeout shrinks to fit a short interval.
        if "timeout" not in self.model_fields_set:
            object.__setattr__(self, "timeout", min(self.timeout, self.interval))
        elif self.timeout > self.interval:
            raise key_error("timeout", f"{self.timeout:g}s must not exceed interval ({self.interval:g}s)")
        return self

    @property
    def stale_after_seconds(self) -> float:
        return self.stale_after if self.stale_after is not None else 3 * self.interval


@dataclass(frozen=True)
class CostSlice:
    """The hourly list price of a service's priced replicas in one cloud, spot or on-demand."""

    cloud: str
    spot: bool
    hourly_cost: float  # USD per hour, the sum of the replicas' skyserve_replica_hourly_cost_dollars
    replicas: int


def cost_slices(priced: Iterable[tuple[str, bool, float]]) -> tuple[CostSlice, ...]:
    """(cloud, spot, hourly) of each priced replica, summed by (cloud, spot), in that order."""
    sums: dict[tuple[str, bool], list[float]] = {}
    for cloud, spot, hourly in priced:
        entry = sums.setdefault((cloud, spot), [0.0, 0])
        entry[0] += hourly
        entry[1] += 1
    return tuple(CostSlice(cloud, spot, total, int(n)) for (cloud, spot), (total, n) in sorted(sums.items()))


@dataclass(frozen=True)
class ServiceSummary:
    """One service as one source sees it: what the console at ``/`` and ``/api/v1/status`` show.

    Aggregates only, never per-replica lists, so a summary stays small whatever the fleet's size.
    The cost fields say what the source's cost families say: ``costs`` sums the service's
    ``skyserve_replica_hourly_cost_dollars`` by (cloud, spot) and ``unpriced`` is its
    ``skyserve_unpriced_replicas`` by reason. ``kind`` says what the money is for: a ``service``,
    or what serves the services (a ``controller``, a ``pool``), so the console can show their share.
    """

    name: str
    source: str
    status: str
    ready_replicas: int
    total_replicas: int
    clouds: tuple[str, ...]
    target_replicas: int | None = None  # what the source aims for, when it says
    replicas_by_status: Mapping[str, int] = field(default_factory=dict)  # replica status -> count
    costs: tuple[CostSlice, ...] = ()
    unpriced: Mapping[str, int] = field(default_factory=dict)  # reason -> replicas without a price
    kind: str = "service"

    @property
    def hourly_cost(self) -> float:
        return sum((piece.hourly_cost for piece in self.costs), 0.0)


@dataclass(frozen=True)
class EndpointCheck:
    """One endpoint check (a probe) as the console lists a failing one; nothing secret in it."""

    target: str  # as labelled in the metrics: a redacted URL or a configured name
    kind: str
    service_name: str
    replica_id: str
    ok: bool
    error: str  # why it failed; "" when it did not
    status_code: int  # the final HTTP status; 0 when none arrived or the check is not HTTP
    latency_seconds: float


@dataclass(frozen=True)
class ServiceChecks:
    """How many of a service's endpoint checks passed in one round."""

    service_name: str
    ok: int
    total: int


# Failing checks a summary lists by name; the rest are counted. Enough for a page, bounded for a fleet.
FAILING_CHECKS_LISTED = 50


@dataclass(frozen=True)
class CheckSummary:
    """What one round of endpoint checks found, bounded in size: counts by service, and the first
    ``FAILING_CHECKS_LISTED`` failing checks (service endpoints first)."""

    total: int
    failed: int
    by_service: tuple[ServiceChecks, ...]  # checks with a service name, by service name
    failing: tuple[EndpointCheck, ...]

    @property
    def failing_not_listed(self) -> int:
        return self.failed - len(self.failing)


_KIND_ORDER = {"service": 0, "static": 1, "node": 2, "replica": 3}


def summarize_checks(checks: Iterable[EndpointCheck], limit: int = FAILING_CHECKS_LISTED) -> CheckSummary:
    """The summary of one round: counts for all, and the failing checks that matter most listed
    (service endpoints, then static targets, nodes and replicas; by target within each)."""
    total = 0
    per_service: dict[str, list[int]] = {}
    failing: list[EndpointCheck] = []
    for check in checks:
        total += 1
        if check.service_name:
            counts = per_service.setdefault(check.service_name, [0, 0])
            counts[0] += check.ok
            counts[1] += 1
        if not check.ok:
            failing.append(check)
    failing.sort(key=lambda c: (_KIND_ORDER.get(c.kind, len(_KIND_ORDER)), c.service_name, c.target))
    return CheckSummary(
        total=total,
        failed=len(failing),
        by_service=tuple(ServiceChecks(name, ok, n) for name, (ok, n) in sorted(per_service.items())),
        failing=tuple(failing[:limit]),
    )


@dataclass(frozen=True)
class Endpoint:
    """An HTTP endpoint a collector discovered, for the probes to check."""

    url: str
    kind: str  # service | replica | node
    service_name: str = ""
    replica_id: str = ""


@dataclass(frozen=True)
class Build:
    """What one successful collection produced."""

    families: list[Metric]
    skipped: Mapping[str, int] = field(default_factory=dict)  # reason -> records skipped this run
    services: tuple[ServiceSummary, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    checks: CheckSummary | None = None  # from a collector that checks endpoints (the probes)
    upstream: Mapping[str, str] | None = None  # e.g. {"version": "0.14.1", "api_version": "62"}


def _nothing_discovered() -> tuple[Endpoint, ...]:
    return ()


def _nothing_offered() -> tuple[object, ...]:
    return ()


def _unsharded() -> Shard:
    return UNSHARDED


def _always() -> bool:
    return True


@dataclass(frozen=True)
class CollectorContext:
    """What the exporter hands a collector: its HTTP session, clock, logger and environment,
    the services other collectors offer (the price book), and the endpoints other collectors have
    discovered (for probes), and the shard this exporter is.

    Services, endpoints and the shard are looked up when used, not when the collector is built: a
    reload that replaces the price book reaches every collector without rebuilding them, and a
    StatefulSet scaled while the exporter runs reshards it.
    """

    session_factory: Callable[[], requests.Session]
    clock: Clock
    logger: logging.Logger
    environ: Mapping[str, str]
    offered: Callable[[], Iterable[object]] = _nothing_offered
    discovered: Callable[[], tuple[Endpoint, ...]] = _nothing_discovered
    sharding: Callable[[], Shard] = _unsharded
    # Whether a running collector probes what others discover: when none does, a collector may
    # leave its Build.endpoints empty (a fleet of 100k replicas is 100k endpoints to make and keep).
    endpoints_wanted: Callable[[], bool] = _always

    def shard(self) -> Shard:
        """The shard this exporter is now: keep only what ``shard().owns(key)`` for the key of the
        object each series belongs to. Ask at each run (a collector keeps ``context.shard``)."""
        return self.sharding()

    def service(self, kind: type[ServiceType]) -> ServiceType | None:
        """The running service of this type (e.g. the price book), or None when none runs."""
        for service in self.offered():
            if isinstance(service, kind):
                return service
        return None

    def service_lookup(self, kind: type[ServiceType]) -> Callable[[], ServiceType | None]:
        """``service(kind)`` for later: what a collector keeps to find the service at each run."""
        return lambda: self.service(kind)


@runtime_checkable
class Collector(Protocol):
    name: ClassVar[str]
    metrics: ClassVar[MetricTable]
    interval: float
    timeout: float

    def fetch(self) -> Any: ...

    def build(self, raw: Any, now: float) -> Build: ...


class Route(Protocol):
    """An extra HTTP route: query parameters and headers (names lower-cased) in, and
    (status, body, content type) out."""

    def __call__(self, query: Mapping[str, str], headers: Mapping[str, str]) -> tuple[int, bytes, str]: ...


@runtime_checkable
class RouteProvider(Protocol):
    """A collector that serves routes of its own, as the probes collector serves ``/probe``."""

    def routes(self) -> Mapping[str, Route]: ...


def routes_of(collectors: Iterable[object]) -> dict[str, Route]:
    """Every route the running collectors offer, by path."""
    found: dict[str, Route] = {}
    for collector in collectors:
        # The server asks at every request; isinstance against a runtime protocol is slow before
        # Python 3.12, and checks no more than this does.
        offer = getattr(collector, "routes", None)
        if callable(offer):
            found.update(offer())
    return found


@runtime_checkable
class EndpointConsumer(Protocol):
    """A collector that works on the endpoints the others discover, as the probes do.

    While ``uses_discovered()`` is true its first run waits for every other collector's first run,
    so that its first answer covers what they found instead of an empty round.
    """

    def uses_discovered(self) -> bool: ...


def waits_for_discoveries(collector: object) -> bool:
    return isinstance(collector, EndpointConsumer) and collector.uses_discovered()


@runtime_checkable
class ServiceProvider(Protocol):
    """A collector that offers services to the others, as the pricing collector offers the price
    book; the others find them with ``CollectorContext.service``."""

    def services(self) -> Iterable[object]: ...


def services_of(collectors: Iterable[object]) -> list[object]:
    """Every service the running collectors offer."""
    return [s for c in collectors if isinstance(c, ServiceProvider) for s in c.services()]


class CollectorFactory(Protocol):
    """The entry-point object: a collector class with its config model.

    Its members are read-only properties, not ClassVars, because the class object itself is what
    satisfies this protocol (and a collector's config model may be any ``SectionConfig``).
    """

    @property
    def name(self) -> str: ...

    @property
    def metrics(self) -> MetricTable: ...

    @property
    def config_model(self) -> type[SectionConfig]: ...

    @classmethod
    def from_config(cls, config: Any, context: CollectorContext) -> Collector: ...

    @classmethod
    def default_config(cls, environ: Mapping[str, str]) -> Mapping[str, Any] | None:
        """The section to use when the config file has none (None: stay off)."""
        ...


@runtime_checkable
class TopLevelSection(Protocol):
    """A factory configured by a top-level key of the config file instead of ``collectors.<name>``,
    as pricing is by ``pricing:``. Such a section is on unless the file turns it off: left out of
    the file, the factory's ``default_config`` applies."""

    top_level_key: str


@runtime_checkable
class DemoSection(Protocol):
    """A factory that knows how to run against the fleet simulator of ``--demo``."""

    @classmethod
    def demo_config(cls, section: Mapping[str, Any] | None, simulator: Any) -> Mapping[str, Any] | None:
        """The section to run under ``--demo``, from the configured one (None: not configured);
        ``simulator`` is the running ``simulator.Simulator``. None keeps the collector off."""
        ...


def top_level_key_of(factory: object) -> str:
    """The top-level config key a factory claims, or "" for a ``collectors.<name>`` section."""
    return factory.top_level_key if isinstance(factory, TopLevelSection) else ""

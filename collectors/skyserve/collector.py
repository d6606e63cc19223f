"""The SkyServe collector: services and replicas from a SkyPilot API server's ``serve status``.

It emits, for example::

    skyserve_service_status{service_name="llama-svc",status="READY"} 1.0
    skyserve_service_replicas{service_name="llama-svc",status="READY"} 2.0
    skyserve_replica_info{service_name="llama-svc",replica_id="1",source="skyserve",version="1",cloud="aws",
        region="us-east-2",zone="us-east-2a",instance_type="g6.xlarge",accelerator="L4",spot="true"} 1.0
    skyserve_replica_status{service_name="llama-svc",replica_id="1",source="skyserve",status="READY"} 1.0
    skyserve_replica_preemptions_total{service_name="llama-svc",source="skyserve",cloud="aws",
        region="us-east-2"} 3.0
    skyserve_controller_status{controller="sky-serve-controller-7f3e9a1c",kind="serve",status="UP"} 1.0
    skyserve_pool_busy_workers{service_name="train-h100"} 1.0

The full list is ``metrics.SKYSERVE_METRICS``.

Jobs pools (``jobs.pool_status``) are read on every poll too: their workers are replicas, in the
same families as a service's (``service_name`` is the pool's name, ``kind="pool"`` on
``skyserve_replica_info``), with the pool's own families beside them. An API server without pools,
a user without permission for them, or a failed call leaves the pools out and counts one
``pool_status_unsupported``, ``pool_status_forbidden`` or ``pool_status_failed`` in
``skyserve_exporter_records_skipped_total``; the services are still collected.

The controller's state comes from a second call (``status``) on every poll. When that call fails,
the services are still exported, without the controller's series, and the run counts one
``controller_status_failed`` in ``skyserve_exporter_records_skipped_total``: a record is what is
missing, not the run, and the run's error reasons (``collector_errors_total``, ``collector_up``)
would otherwise say that services which were read are down. Its reason is logged once per episode.
"""

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from collectors.pricing import NO_COSTS, PriceBook, ReplicaCosts, ServiceCosts
from collectors.skyserve.client import PoolAnswer, ServeStatusAnswer, SkyServeClient
from collectors.skyserve.config import ENDPOINT_ENV, SkyServeConfig, resolve_connection
from collectors.skyserve.memo import ServiceMemo
from collectors.skyserve.metrics import (
    CLOUD_OF,
    SKYSERVE_METRICS,
    SOURCE,
    STATUS_OF,
    ControllerCosts,
    add_controller,
    add_pool,
    add_replicas,
    add_replicas_by_cloud,
    add_service,
    add_transitions,
    priced_replicas,
)
from collectors.skyserve.records import (
    DUPLICATE_SERVICE,
    ControllerRecord,
    Controllers,
    Fleet,
    ReplicaRecord,
    ServiceRecord,
    parse_controllers,
    parse_pools,
)
from collectors.skyserve.sharding import owned_records
from collectors.skyserve.transitions import TransitionTracker
from exporter.collector import (
    Build,
    CollectorConfig,
    CollectorContext,
    Endpoint,
    ServiceSummary,
    cost_slices,
)
from exporter.metrics import FamilyBuilder, MetricTable
from exporter.sharding import UNKEYED, UNSHARDED, Shard

if TYPE_CHECKING:
    from simulator import Simulator

_READY = "READY"
_CONTROLLER_UP = "UP"  # SkyPilot's ClusterStatus for a running cluster
CONTROLLER_STATUS_FAILED = "controller_status_failed"


@dataclass(frozen=True)
class Polled:
    """One poll, decoded into records.

    Decoding in fetch() rather than build() lets the raw JSON objects (about 40 MB at 10k
    replicas) go before the samples are built, which lowers the process's memory high-water mark
    by about 10 MB (benchmarks/memory.py); parsing stays pure and is tested on its own.
    """

    fleet: Fleet
    upstream: Mapping[str, str]
    controllers: Controllers = field(default_factory=Controllers)
    controller_problem: str | None = None  # why the controllers' status call failed
    pools: Fleet = field(default_factory=lambda: Fleet(services=(), skipped={}))
    # Its records dropped: only why the call failed is kept.
    pool_answer: PoolAnswer = field(default_factory=PoolAnswer)
    shard: Shard = UNSHARDED  # what the records were kept for (collectors.skyserve.sharding)

    @classmethod
    def decode(
        cls, answer: ServeStatusAnswer, shard: Shard = UNSHARDED, memo: ServiceMemo | None = None
    ) -> "Polled":
        """The answer's records, those ``shard`` owns; ``memo`` gives back unchanged services."""
        found, pools = answer.controllers, answer.pools
        fleet = (memo if memo is not None else ServiceMemo()).fleet(answer.services, shard)
        return cls(
            fleet,
            answer.upstream,
            parse_controllers(owned_records(found.records, shard)),
            found.problem,
            _without_names(parse_pools(owned_records(pools.records, shard)), fleet),
            PoolAnswer(reason=pools.reason, problem=pools.problem),
            shard,
        )

    @property
    def skipped(self) -> dict[str, int]:
        counts = Counter(self.fleet.skipped) + Counter(self.controllers.skipped) + Counter(self.pools.skipped)
        calls_counted = self.shard.owns(UNKEYED)  # every shard made these calls: one counts them
        if self.controller_problem is not None and calls_counted:
            counts[CONTROLLER_STATUS_FAILED] += 1
        if self.pool_answer.reason is not None and calls_counted:
            counts[self.pool_answer.reason] += 1
        return dict(counts)


class SkyServeCollector:
    """Polls ``serve status`` for every service; ``build`` also counts transitions between polls."""

    name: ClassVar[str] = "skyserve"
    metrics: ClassVar[MetricTable] = SKYSERVE_METRICS
    config_model: ClassVar[type[CollectorConfig]] = SkyServeConfig

    def __init__(
        self,
        client: SkyServeClient,
        *,
        interval: float,
        timeout: float,
        stale_after: float,
        prices: Callable[[], PriceBook | None],
        tracker: TransitionTracker | None = None,
        logger: logging.Logger | None = None,
        shard: Callable[[], Shard] = lambda: UNSHARDED,
        endpoints_wanted: Callable[[], bool] = lambda: True,
    ) -> None:
        self.interval = interval
        self._shard = shard
        self._endpoints_wanted = endpoints_wanted
        self.timeout = timeout
        self._client = client
        self._logger = logger if logger is not None else logging.getLogger(__name__)
        self._controller_problem: str | None = None  # the episode being logged
        self._pool_problem: str | None = None  # the pools' episode being logged
        self._tracker = tracker if tracker is not None else TransitionTracker()
        self._prices = prices
        self._costs = ReplicaCosts(stale_after)
        self._controller_costs = ControllerCosts(stale_after)
        self._memo = ServiceMemo()

    @classmethod
    def from_config(cls, config: Any, context: CollectorContext) -> "SkyServeCollector":
        """A collector for the section; ValueError naming the key when the endpoint or token is unusable."""
        settings = SkyServeConfig.model_validate(config)
        connection = resolve_connection(settings, context.environ)
        client = SkyServeClient(
            context.session_factory(),
            connection,
            settings.timeout,
            body_size_limit=settings.body_size_limit,
            pools=settings.pools,
        )
        return cls(
            client,
            interval=settings.interval,
            timeout=settings.timeout,
            stale_after=settings.stale_after_seconds,
            prices=context.service_lookup(PriceBook),
            logger=context.logger,
            shard=context.shard,
            endpoints_wanted=context.endpoints_wanted,
        )

    @classmethod
    def default_config(cls, environ: Mapping[str, str]) -> Mapping[str, Any] | None:
        return {} if environ.get(ENDPOINT_ENV, "").strip() else None

    @classmethod
    def demo_config(cls, section: Mapping[str, Any] | None, simulator: "Simulator") -> Mapping[str, Any]:
        """The simulated API server, which takes no token."""
        from simulator.demo import DEMO_INTERVAL  # noqa: PLC0415

        demo = {
            key: value
            for key, value in (section or {"interval": DEMO_INTERVAL}).items()
            if key != "token_file"
        }
        return {**demo, "endpoint": simulator.url}

    def fetch(self) -> Polled:
        polled = Polled.decode(self._client.fetch(), self._shard(), self._memo)
        self._note_controller_problem(polled.controller_problem)
        self._note_pool_problem(polled.pool_answer.problem)
        return polled

    def _note_pool_problem(self, problem: str | None) -> None:
        """Log the pools being unreadable once per episode, as for the controllers."""
        if problem == self._pool_problem:
            return
        if problem is None:
            self._logger.info("pool status available again", extra={"collector": self.name})
        else:
            self._logger.warning(
                "pool status unavailable; services are still collected",
                extra={"collector": self.name, "error": problem},
            )
        self._pool_problem = problem

    def _note_controller_problem(self, problem: str | None) -> None:
        """Log the controllers' status call failing once per episode (and by reason), as the
        framework logs failed runs; the counter says how often."""
        if problem == self._controller_problem:
            if problem is not None:
                self._logger.debug(
                    "controller status unavailable again", extra={"collector": self.name, "error": problem}
                )
            return
        if problem is None:
            self._logger.info("controller status available again", extra={"collector": self.name})
        else:
            self._logger.warning(
                "controller status unavailable; services are still collected",
                extra={"collector": self.name, "error": problem},
            )
        self._controller_problem = problem

    def build(self, raw: Polled, now: float) -> Build:
        fleet = raw.fleet
        groups = (*fleet.services, *raw.pools.services)
        replicas = [replica for group in groups for replica in group.replicas]
        self._tracker.observe(replicas, now)
        out = FamilyBuilder(self.metrics, refresh_seconds=self.interval)
        for service in fleet.services:
            add_service(out, service)
        for group in groups:
            add_replicas_by_cloud(out, group)
        for group in groups:
            add_replicas(out, group)
        for controller in raw.controllers.records:
            add_controller(out, controller)
        # The tracker keeps a gone service's counters for an hour: after a reshard, not here.
        owns = raw.shard.owner()
        add_transitions(out, (sample for sample in self._tracker.samples() if owns(sample.service_name)))
        book = self._prices()
        priced = list(priced_replicas(replicas, book))
        # The idle cost of a pool is its idle workers' prices: only a pool's workers are looked up.
        pool_names = {pool.name for pool in raw.pools.services}
        hourly = {
            (p.service_name, p.replica_id): p.price.hourly
            for p in priced
            if p.service_name in pool_names and p.price.hourly is not None
        }
        for pool in raw.pools.services:
            add_pool(out, pool, hourly)
        costs = self._costs.add(out, now, priced)
        controller_prices = self._controller_costs.add(out, now, raw.controllers.records, book)
        summaries = [_summary(s, costs.get(s.name, NO_COSTS), "service") for s in fleet.services]
        summaries += [_summary(p, costs.get(p.name, NO_COSTS), "pool") for p in raw.pools.services]
        summaries += [_controller_summary(c, controller_prices.get(c.name)) for c in raw.controllers.records]
        return Build(
            families=out.families(),
            skipped=raw.skipped,
            services=tuple(summaries),
            endpoints=_endpoints(fleet.services) if self._endpoints_wanted() else (),
            upstream=dict(raw.upstream) or None,
        )


def _without_names(pools: Fleet, fleet: Fleet) -> Fleet:
    """The pools, less any named like a service (counted as duplicate_service): SkyPilot keeps both
    in one table, so this cannot happen upstream, but two series with one label set would make the
    whole exposition invalid."""
    taken = {service.name for service in fleet.services}
    kept = tuple(pool for pool in pools.services if pool.name not in taken)
    if len(kept) == len(pools.services):
        return pools
    skipped = Counter(pools.skipped)
    skipped[DUPLICATE_SERVICE] += len(pools.services) - len(kept)
    return Fleet(services=kept, skipped=dict(skipped))


def _summary(service: ServiceRecord, costs: ServiceCosts, kind: str) -> ServiceSummary:
    clouds = sorted(set(filter(None, map(CLOUD_OF, service.replicas))))
    statuses = Counter(map(STATUS_OF, service.replicas))
    return ServiceSummary(
        name=service.name,
        source=SOURCE,
        status=service.status,
        ready_replicas=statuses[_READY],
        total_replicas=len(service.replicas),
        clouds=tuple(clouds),
        target_replicas=service.target_num_replicas,
        replicas_by_status=dict(statuses),
        costs=costs.costs,
        unpriced=costs.unpriced,
        kind=kind,
    )


def _controller_summary(controller: ControllerRecord, price: tuple[str, float] | None) -> ServiceSummary:
    """A controller as the console counts it: one on-demand node of overhead, priced or not."""
    cloud = controller.placement.cloud
    return ServiceSummary(
        name=controller.name,
        source=SOURCE,
        status=controller.status,
        ready_replicas=int(controller.status == _CONTROLLER_UP),
        total_replicas=1,
        clouds=(cloud,) if cloud else (),
        costs=cost_slices([(price[0], False, price[1])]) if price is not None else (),
        kind="controller",
    )


def _endpoints(services: tuple[ServiceRecord, ...]) -> tuple[Endpoint, ...]:
    found: list[Endpoint] = []
    for service in services:
        if service.endpoint:
            url = with_scheme(service.endpoint, "https" if service.tls_encrypted else "http")
            found.append(Endpoint(url=url, kind="service", service_name=service.name))
        found.extend(_replica_endpoint(replica) for replica in service.replicas if replica.endpoint)
    return tuple(found)


def _replica_endpoint(replica: ReplicaRecord) -> Endpoint:
    return Endpoint(
        url=with_scheme(replica.endpoint or "", "http"),
        kind="replica",
        service_name=replica.service_name,
        replica_id=str(replica.replica_id),
    )


def with_scheme(endpoint: str, scheme: str) -> str:
    """SkyServe has shown endpoints as bare ``host:port`` in some versions; probes need a URL."""
    return endpoint if "://" in endpoint else f"{scheme}://{endpoint}"

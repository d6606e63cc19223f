"""The SkyServe collector: services and replicas from a SkyPilot API server's ``serve status``.

It emits, for example::

    skyserve_service_status{service_name="llama-svc",status="READY"} 1.0
    skyserve_service_replicas{service_name="llama-svc",status="READY"} 2.0
    skyserve_replica_info{service_name="llama-svc",replica_id="1",source="skyserve",version="1",cloud="aws",
        region="us-east-2",zone="us-east-2a",instance_type="g6.xlarge",accelerator="L4",spot="true"} 1.0
    skyserve_replica_status{service_name="llama-svc",replica_id="1",source="skyserve",status="READY"} 1.0
    skyserve_replica_preemptions_total{service_name="llama-svc",source="skyserve",cloud="aws",
        region="us-east-2"} 3.0
    skyserve_controller_status{controller="sky-serve-controller-7f3e9a1c",status="UP"} 1.0

The full list is ``metrics.SKYSERVE_METRICS``.

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
from collectors.skyserve.client import ServeStatusAnswer, SkyServeClient
from collectors.skyserve.config import ENDPOINT_ENV, SkyServeConfig, resolve_connection
from collectors.skyserve.metrics import (
    SKYSERVE_METRICS,
    SOURCE,
    add_controller,
    add_replica,
    add_replicas_by_cloud,
    add_service,
    add_transitions,
    priced_replicas,
)
from collectors.skyserve.records import (
    Controllers,
    Fleet,
    ReplicaRecord,
    ServiceRecord,
    parse_controllers,
    parse_fleet,
)
from collectors.skyserve.transitions import TransitionTracker
from exporter.collector import Build, CollectorConfig, CollectorContext, Endpoint, ServiceSummary
from exporter.metrics import FamilyBuilder, MetricTable

if TYPE_CHECKING:
    from simulator import Simulator

_READY = "READY"
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

    @classmethod
    def decode(cls, answer: ServeStatusAnswer) -> "Polled":
        found = answer.controllers
        return cls(
            parse_fleet(answer.services), answer.upstream, parse_controllers(found.records), found.problem
        )

    @property
    def skipped(self) -> dict[str, int]:
        counts = Counter(self.fleet.skipped) + Counter(self.controllers.skipped)
        if self.controller_problem is not None:
            counts[CONTROLLER_STATUS_FAILED] += 1
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
    ) -> None:
        self.interval = interval
        self.timeout = timeout
        self._client = client
        self._logger = logger if logger is not None else logging.getLogger(__name__)
        self._controller_problem: str | None = None  # the episode being logged
        self._tracker = tracker if tracker is not None else TransitionTracker()
        self._prices = prices
        self._costs = ReplicaCosts(stale_after)

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
        )
        return cls(
            client,
            interval=settings.interval,
            timeout=settings.timeout,
            stale_after=settings.stale_after_seconds,
            prices=context.service_lookup(PriceBook),
            logger=context.logger,
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
        polled = Polled.decode(self._client.fetch())
        self._note_controller_problem(polled.controller_problem)
        return polled

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
        replicas = [replica for service in fleet.services for replica in service.replicas]
        self._tracker.observe(replicas, now)
        out = FamilyBuilder(self.metrics, refresh_seconds=self.interval)
        for service in fleet.services:
            add_service(out, service)
            add_replicas_by_cloud(out, service)
        for replica in replicas:
            add_replica(out, replica)
        for controller in raw.controllers.records:
            add_controller(out, controller)
        add_transitions(out, self._tracker.samples())
        costs = self._costs.add(out, now, priced_replicas(replicas, self._prices()))
        return Build(
            families=out.families(),
            skipped=raw.skipped,
            services=tuple(_summary(s, costs.get(s.name, NO_COSTS)) for s in fleet.services),
            endpoints=_endpoints(fleet.services),
            upstream=dict(raw.upstream) or None,
        )


def _summary(service: ServiceRecord, costs: ServiceCosts) -> ServiceSummary:
    clouds = sorted({r.placement.cloud for r in service.replicas if r.placement.cloud})
    statuses = Counter(r.status for r in service.replicas)
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

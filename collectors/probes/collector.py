"""The probes collector: blackbox-style probes of every discovered endpoint and configured target.

Replica status says what SkyServe believes; a probe says what a client sees. Each round probes the
endpoints the other collectors currently serve (a new service is probed at the next round, a gone
one stops being probed) plus the static targets, ``concurrency`` at a time. It emits, for example::

    skyserve_probe_success{target="http://44.201.12.9:30001/health",service_name="llama-svc",
        replica_id="",kind="service"} 1.0
    skyserve_probe_http_status_code{target="http://44.201.12.9:30001/health",...} 200.0
    skyserve_probe_http_duration_seconds{target="http://44.201.12.9:30001/health",...,
        phase="processing"} 0.0123
    skyserve_probe_ssl_earliest_cert_expiry_timestamp_seconds{target="public-api",service_name="",
        replica_id="",kind="static"} 1.8e+09

The full list is ``metrics.PROBES_METRICS``; ``/probe`` serves the same probes in blackbox's format.
"""

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from collectors.probes.config import ProbesConfig
from collectors.probes.endpoint import ProbeEndpoint, TargetBook
from collectors.probes.metrics import PROBES_METRICS, add_result
from collectors.probes.modules import Module, compile_modules
from collectors.probes.targets import ProbeResult, ProbeTarget
from exporter.collector import (
    Build,
    CollectorConfig,
    CollectorContext,
    EndpointCheck,
    Route,
    summarize_checks,
)
from exporter.metrics import FamilyBuilder, MetricTable

# With no config file, probes run for the endpoints SkyServe discovers.
SKYSERVE_ENDPOINT_ENV = "SKYPILOT_API_SERVER_ENDPOINT"

Outcome = tuple[ProbeTarget, ProbeResult]


def probe_all(
    targets: Sequence[ProbeTarget], modules: Mapping[str, Module], concurrency: int
) -> tuple[Outcome, ...]:
    """One round: each target with its result, in the order given, at most ``concurrency`` at a time.

    Probes never raise: failures are results. They spend their time waiting on the network, so
    threads overlap them well: 1,000 targets that answer in 100 ms take about 1,000 x 0.1 / 64 =
    1.6 s at the default concurrency.
    """
    if not targets:
        return ()

    def probe(target: ProbeTarget) -> ProbeResult:
        return modules[target.module].run(target.url)

    workers = min(concurrency, len(targets))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
        return tuple(zip(targets, pool.map(probe, targets), strict=True))


class ProbesCollector:
    name: ClassVar[str] = "probes"
    metrics: ClassVar[MetricTable] = PROBES_METRICS
    config_model: ClassVar[type[CollectorConfig]] = ProbesConfig

    def __init__(
        self,
        book: TargetBook,
        modules: Mapping[str, Module],
        interval: float,
        concurrency: int,
        logger: logging.Logger,
    ) -> None:
        self.interval = interval
        # Each probe has its module's timeout; a round as a whole must end within its interval.
        self.timeout = interval
        self.endpoint = ProbeEndpoint(book, modules)
        self._book = book
        self._modules = modules
        self._concurrency = concurrency
        self._logger = logger

    @classmethod
    def from_config(cls, config: Any, context: CollectorContext) -> "ProbesCollector":
        """A collector for the section; SectionError naming the key when a module cannot be built."""
        settings = ProbesConfig.model_validate(config)
        modules = compile_modules(settings, context.environ)
        book = TargetBook(settings.discover, settings.targets, modules, context.discovered, context.shard)
        return cls(book, modules, settings.interval, settings.concurrency, context.logger)

    @classmethod
    def default_config(cls, environ: Mapping[str, str]) -> Mapping[str, Any] | None:
        return {} if environ.get(SKYSERVE_ENDPOINT_ENV, "").strip() else None

    @classmethod
    def demo_config(cls, section: Mapping[str, Any] | None, simulator: object) -> Mapping[str, Any]:
        """Every simulated endpoint, replicas too, so the Endpoints dashboard fills at once."""
        from simulator.demo import DEMO_INTERVAL  # noqa: PLC0415

        return section if section is not None else {"interval": DEMO_INTERVAL, "discover": {"replicas": True}}

    def routes(self) -> Mapping[str, Route]:
        return {"/probe": self.endpoint.serve}

    def uses_discovered(self) -> bool:
        """With discovery on, the first round waits for the other collectors' first runs."""
        return self._book.discovers

    def fetch(self) -> tuple[Outcome, ...]:
        outcomes = probe_all(self._book.targets(), self._modules, self._concurrency)
        for target, result in outcomes:
            if not result.success:
                extra = {"target": target.label, "module": target.module, "error": result.failure}
                self._logger.debug("probe failed", extra=extra)
        return outcomes

    def build(self, raw: tuple[Outcome, ...], now: float) -> Build:
        out = FamilyBuilder(self.metrics, refresh_seconds=self.interval)
        for target, result in raw:
            add_result(out, target, result)
        return Build(families=out.families(), checks=summarize_checks(_check(t, r) for t, r in raw))


def _check(target: ProbeTarget, result: ProbeResult) -> EndpointCheck:
    return EndpointCheck(
        target=target.label,
        kind=target.kind,
        service_name=target.service_name,
        replica_id=target.replica_id,
        ok=result.success,
        error="" if result.success else result.failure or "failed",
        status_code=result.status_code,
        latency_seconds=result.duration,
    )

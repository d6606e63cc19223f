"""A scriptable collector for framework tests: each fetch() pops the next scripted outcome."""

import socket
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from flask import Flask, Response

from exporter.collector import Build, CollectorConfig, CollectorContext, ServiceSummary
from exporter.metrics import FamilyBuilder, MetricSpec, MetricTable

FAKE_METRICS = MetricTable(
    (
        MetricSpec("skyserve_fake_replicas", "gauge", "Replicas per service.", ("service_name",)),
        MetricSpec("skyserve_fake_events_total", "counter", "Events seen.", ("service_name",)),
    )
)

Outcome = Mapping[str, int] | BaseException | Callable[[], Mapping[str, int]]


class FakeCollector:
    name: ClassVar[str] = "fake"
    metrics: ClassVar[MetricTable] = FAKE_METRICS
    config_model: ClassVar[type[CollectorConfig]] = CollectorConfig

    def __init__(self, outcomes: list[Outcome], interval: float = 30.0, timeout: float = 5.0) -> None:
        self.outcomes = outcomes
        self.interval = interval
        self.timeout = timeout
        self.fetches = 0

    @classmethod
    def from_config(cls, config: CollectorConfig, context: CollectorContext) -> "FakeCollector":
        return cls([], interval=config.interval, timeout=config.timeout)

    @classmethod
    def default_config(cls, environ: Mapping[str, str]) -> Mapping[str, Any] | None:
        return {} if environ.get("FAKE_ON") else None

    def fetch(self) -> Mapping[str, int]:
        self.fetches += 1
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        if callable(outcome):
            return outcome()
        return outcome

    def build(self, raw: Mapping[str, int], now: float) -> Build:
        out = FamilyBuilder(self.metrics, refresh_seconds=self.interval)
        for service, replicas in sorted(raw.items()):
            out.add("skyserve_fake_replicas", (service,), replicas)
            out.add("skyserve_fake_events_total", (service,), 1)
        services = tuple(ServiceSummary(s, "fake", "READY", n, n, ("aws",)) for s, n in raw.items())
        return Build(
            families=out.families(),
            skipped={"invalid_replica": 1} if "bad" in raw else {},
            services=services,
            upstream={"version": "0.14.1", "api_version": "62"},
        )


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def wait_serving(host: str, port: int) -> None:
    """Return once something accepts connections on ``host:port`` (at most 5 s)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.02)
    raise AssertionError("server did not start")


def metrics_app() -> Flask:
    """The smallest app an HTTP server test serves: ``/metrics`` answering ``up 1``."""
    app = Flask("test", static_folder=None)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(b"up 1\n", content_type="text/plain")

    return app

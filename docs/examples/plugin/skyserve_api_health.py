"""An example collector plugin: the SkyPilot API server's own health, from ``GET /api/health``."""

import time
from collections.abc import Mapping
from typing import Any, ClassVar

from exporter.collector import Build, CollectorConfig, CollectorContext
from exporter.deadline import Deadline
from exporter.errors import CollectorError, ErrorKind
from exporter.metrics import FamilyBuilder, MetricSpec, MetricTable
from exporter.upstream import loads_json, read_body


class ApiHealthConfig(CollectorConfig):
    endpoint: str  # the API server's URL, as in SKYPILOT_API_SERVER_ENDPOINT


METRICS = MetricTable(
    (
        MetricSpec("skyserve_api_server_healthy", "gauge", "1 when the API server says it is healthy."),
        MetricSpec("skyserve_api_server_version_info", "gauge", "The API server's version.", ("version",)),
    )
)


class ApiHealthCollector:
    name: ClassVar[str] = "api_health"
    metrics: ClassVar[MetricTable] = METRICS
    config_model: ClassVar[type[CollectorConfig]] = ApiHealthConfig

    def __init__(self, config: ApiHealthConfig, context: CollectorContext) -> None:
        self.interval, self.timeout = config.interval, config.timeout
        self._url, self._limit = config.endpoint.rstrip("/") + "/api/health", config.body_size_limit
        self._session = context.session_factory()

    @classmethod
    def from_config(cls, config: Any, context: CollectorContext) -> "ApiHealthCollector":
        return cls(ApiHealthConfig.model_validate(config), context)

    @classmethod
    def default_config(cls, environ: Mapping[str, str]) -> Mapping[str, Any] | None:
        return None  # runs only when the config file has a collectors.api_health section

    @classmethod
    def demo_config(cls, section: Mapping[str, Any] | None, simulator: Any) -> Mapping[str, Any]:
        return {**(section or {"interval": "10s"}), "endpoint": simulator.url}

    def fetch(self) -> Any:
        deadline = Deadline(self.timeout, time.monotonic, "GET /api/health")
        response = self._session.get(self._url, timeout=deadline.remaining(), stream=True)
        if response.status_code in (401, 403):
            raise CollectorError(f"API server refused us (HTTP {response.status_code})", ErrorKind.AUTH)
        if response.status_code != 200:
            raise CollectorError(f"API server answered HTTP {response.status_code}", ErrorKind.UNAVAILABLE)
        document = loads_json(read_body(response, deadline, self._limit, "/api/health"), "/api/health")
        if not isinstance(document, dict):
            raise CollectorError("/api/health: not a JSON object", ErrorKind.PARSE)
        return document

    def build(self, raw: Any, now: float) -> Build:
        out = FamilyBuilder(self.metrics, refresh_seconds=self.interval)
        out.add("skyserve_api_server_healthy", (), 1.0 if raw.get("status") == "healthy" else 0.0)
        out.add("skyserve_api_server_version_info", (str(raw.get("version", "unknown")),), 1.0)
        return Build(families=out.families())

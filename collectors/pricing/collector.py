"""The price book's own collector: offers the book to the other collectors, refreshes the
catalogs on schedule and reports their health.

It is configured by the top-level ``pricing:`` section, not by ``collectors:``, and runs unless
that section says ``enabled: false``. It emits, for example::

    skyserve_pricing_catalog_rows{cloud="aws"} 77.0
    skyserve_pricing_catalog_updated_timestamp_seconds{cloud="aws"} 1.79582e+09
    skyserve_pricing_refresh_failures_total{cloud="gcp"} 0.0
"""

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from collectors.pricing.book import PRICING_METRICS, PriceBook
from collectors.pricing.config import PricingConfig
from exporter.collector import Build, CollectorContext, SectionConfig
from exporter.errors import CollectorError, ErrorKind
from exporter.metrics import MetricTable
from exporter.sharding import UNSHARDED, Shard

if TYPE_CHECKING:
    from simulator import Simulator


class PricingCollector:
    name: ClassVar[str] = "pricing"
    metrics: ClassVar[MetricTable] = PRICING_METRICS
    config_model: ClassVar[type[SectionConfig]] = PricingConfig
    top_level_key: ClassVar[str] = "pricing"

    def __init__(
        self, book: PriceBook, config: PricingConfig, shard: Callable[[], Shard] = lambda: UNSHARDED
    ) -> None:
        self._book = book
        self._shard = shard
        self._refresh = config.refresh_interval is not None
        self.interval = config.run_interval
        self.timeout = min(config.refresh_timeout, self.interval)

    @classmethod
    def from_config(cls, config: Any, context: CollectorContext) -> "PricingCollector":
        settings = PricingConfig.model_validate(config)
        book = PriceBook.from_config(settings, context.session_factory, context.clock)
        return cls(book, settings, context.shard)

    @classmethod
    def default_config(cls, environ: Mapping[str, str]) -> Mapping[str, Any] | None:
        return {}  # every start prices, from SkyPilot's local catalogs when nothing else is said

    @classmethod
    def demo_config(cls, section: Mapping[str, Any] | None, simulator: "Simulator") -> Mapping[str, Any]:
        """The price list of the simulated fleet's instance types and Kubernetes contexts."""
        from simulator.demo import DEMO_KUBERNETES_PRICING, demo_catalog_dir  # noqa: PLC0415

        return {
            "kubernetes": DEMO_KUBERNETES_PRICING,
            **(section or {}),
            "catalog_dir": str(demo_catalog_dir()),
        }

    @property
    def book(self) -> PriceBook:
        return self._book

    def services(self) -> Iterable[object]:
        return (self._book,)

    def fetch(self) -> None:
        if self._refresh:
            self._book.refresh()  # keeps the cached catalog and counts the failure on any error

    def build(self, raw: None, now: float) -> Build:
        if not self._book.can_price():
            # Every list price would be missing: say so where operators look (collector_up and
            # the status page), not only in a log line at start.
            raise CollectorError(
                f"no price catalog in {self._book.catalog_dir} and no Kubernetes rates or overrides: "
                "every replica is unpriced (run `sky show-gpus` once to fetch the catalogs, set "
                "pricing.refresh, or pricing.enabled: false if no list price is wanted)",
                ErrorKind.UNAVAILABLE,
            )
        # Catalog health by cloud (exporter.sharding): each cloud's series from one shard.
        return Build(families=self._book.metric_families(now, self._shard()))

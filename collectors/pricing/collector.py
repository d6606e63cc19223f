"""The price book's own collector: refreshes the catalogs on schedule and reports their health.

It is configured by the top-level ``pricing:`` section, not by ``collectors:``, because every
other collector prices through the same book. It emits, for example::

    skyserve_pricing_catalog_rows{cloud="aws"} 77.0
    skyserve_pricing_catalog_updated_timestamp_seconds{cloud="aws"} 1.79582e+09
    skyserve_pricing_refresh_failures_total{cloud="gcp"} 0.0
"""

from typing import ClassVar

from collectors.pricing.book import PriceBook
from collectors.pricing.config import PricingConfig
from collectors.pricing.health import PRICING_METRICS
from exporter.collector import Build
from exporter.metrics import MetricTable

# Without refresh there is nothing to fetch; health is still re-read, cheaply, this often.
_HEALTH_INTERVAL_SECONDS = 300.0


class PricingCollector:
    name: ClassVar[str] = "pricing"
    metrics: ClassVar[MetricTable] = PRICING_METRICS

    def __init__(self, book: PriceBook, config: PricingConfig) -> None:
        self._book = book
        self._refresh = config.refresh_interval is not None
        self.interval = config.refresh_interval or _HEALTH_INTERVAL_SECONDS
        self.timeout = config.refresh_timeout
        self.stale_after = 3 * self.interval

    @property
    def book(self) -> PriceBook:
        return self._book

    def fetch(self) -> None:
        if self._refresh:
            self._book.refresh()  # keeps the cached catalog and counts the failure on any error

    def build(self, raw: None, now: float) -> Build:
        return Build(families=self._book.metric_families(now))

"""Catalog health: what each cloud's catalog load and refresh saw, and its metric families."""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.core import Metric

from exporter.metrics import FamilyBuilder, MetricSpec, MetricTable

PRICING_METRICS = MetricTable(
    (
        MetricSpec(
            "skyserve_pricing_catalog_rows",
            "gauge",
            "Price rows loaded from the cloud's SkyPilot catalog (vms.csv); 0 when missing or unusable.",
            ("cloud",),
        ),
        MetricSpec(
            "skyserve_pricing_catalog_rows_skipped",
            "gauge",
            "Malformed rows skipped when the cloud's catalog was last loaded.",
            ("cloud",),
        ),
        MetricSpec(
            "skyserve_pricing_catalog_updated_timestamp_seconds",
            "gauge",
            "When the loaded catalog file was last written (its mtime, Unix seconds); "
            "time() minus this is the catalog's age.",
            ("cloud",),
        ),
        MetricSpec(
            "skyserve_pricing_refresh_failures_total",
            "counter",
            "Catalog downloads that failed since the exporter started; the cached catalog stays in use.",
            ("cloud",),
        ),
    )
)


@dataclass(frozen=True)
class CatalogHealth:
    cloud: str
    path: Path
    loaded: bool
    rows: int
    rows_skipped: int
    updated_at: float | None  # catalog file mtime
    load_error: str  # "" when loaded; "missing" when there is no file
    refresh_failures: int
    last_refresh_error: str  # "" after a successful refresh or before any
    last_refresh_at: float | None  # when a refresh of this cloud was last attempted


def health_families(health: Iterable[CatalogHealth]) -> list[Metric]:
    out = FamilyBuilder(PRICING_METRICS, refresh_seconds=None)
    for item in health:
        labels = (item.cloud,)
        out.add("skyserve_pricing_catalog_rows", labels, item.rows)
        out.add("skyserve_pricing_catalog_rows_skipped", labels, item.rows_skipped)
        if item.updated_at is not None:
            out.add("skyserve_pricing_catalog_updated_timestamp_seconds", labels, item.updated_at)
        out.add("skyserve_pricing_refresh_failures_total", labels, item.refresh_failures)
    return out.families()

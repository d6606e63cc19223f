"""The price book the SkyServe, Kubernetes and bare-metal collectors share, and its catalog-health families.

Queries read one immutable snapshot (tables plus what each catalog load saw); ``refresh()``, on a
scheduler thread, builds a new snapshot and swaps it in with a single assignment, so a query never
sees half a refresh and never waits for one.

A query is priced by an override if one matches, else from its cloud's catalog or, for Kubernetes
and SSH node pools, from the ``kubernetes.pricing`` rates. The whole replica's price is the
per-node price times the node count, as SkyPilot's ``get_cost`` is per node.
"""

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import requests
from prometheus_client.core import Metric

from collectors.pricing.catalog import CloudCatalog, catalog_quote
from collectors.pricing.catalog_files import (
    CATALOGLESS_CLOUDS,
    LoadedCatalog,
    catalog_from,
    discover_clouds,
    load_catalog,
    load_catalogs,
)
from collectors.pricing.config import KubernetesPricing, PricingConfig, read_skypilot_pricing
from collectors.pricing.prices import (
    HOURS_PER_MONTH,
    INCOMPLETE_RESOURCES,
    NO_CATALOG,
    NO_FIXED_PRICE,
    NO_PLACEMENT,
    KubernetesRates,
    OverrideTable,
    Price,
    PriceQuery,
    build_overrides,
    resolve_rates,
    unpriced,
)
from collectors.pricing.refresh import LOCALLY_MODIFIED, CatalogSource, RefreshError, locally_modified, store
from exporter.metrics import FamilyBuilder, MetricSpec, MetricTable
from exporter.sharding import UNSHARDED, Shard

logger = logging.getLogger(__name__)

# What refresh downloads when no cloud is configured and none is cached yet.
DEFAULT_REFRESH_CLOUDS: Final = ("aws", "azure", "gcp")

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
    """What the last load and the last refresh of one cloud's catalog saw."""

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


_NO_PLACEMENT = unpriced(NO_PLACEMENT)
_INCOMPLETE = unpriced(INCOMPLETE_RESOURCES)
_NO_CATALOG = unpriced(NO_CATALOG)


@dataclass(frozen=True)
class PriceTables:
    """Everything a query is priced from; replaced whole, never changed in place."""

    catalogs: Mapping[str, CloudCatalog]
    kubernetes: KubernetesRates
    overrides: OverrideTable


@dataclass(frozen=True)
class _Snapshot:
    tables: PriceTables
    loaded: Mapping[str, LoadedCatalog]


class PriceBook:
    def __init__(
        self,
        config: PricingConfig,
        *,
        loaded: Mapping[str, LoadedCatalog],
        kubernetes: KubernetesRates,
        overrides: OverrideTable,
        session_factory: Callable[[], requests.Session],
        clock: Callable[[], float],
    ) -> None:
        self._config = config
        self._kubernetes = kubernetes
        self._overrides = overrides
        self._clock = clock
        self._source = CatalogSource(
            base_url=config.refresh_url,
            fallback_url=config.refresh_fallback_url,
            timeout=config.refresh_timeout,
            session_factory=session_factory,
            body_size_limit=config.body_size_limit,
        )
        self._snapshot = self._make_snapshot(loaded)
        self._refresh_lock = threading.Lock()  # one refresh at a time
        self._lock = threading.Lock()  # guards the refresh bookkeeping below
        self._failures: Counter[str] = Counter()
        self._refresh_errors: dict[str, str] = {}
        self._refreshed_at: dict[str, float] = {}

    @classmethod
    def from_config(
        cls,
        config: PricingConfig,
        session_factory: Callable[[], requests.Session] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> "PriceBook":
        """Load catalogs and rates; SectionError (exporter.config_errors) for an unusable skypilot_config."""
        catalog_dir = config.catalog_dir
        # With no catalog found and none named, expect the clouds a refresh would fetch: their
        # rows then read 0, which dashboards and alerts can see, rather than no series at all.
        clouds = config.clouds if config.clouds is not None else discover_clouds(catalog_dir)
        clouds = clouds or DEFAULT_REFRESH_CLOUDS
        loaded = load_catalogs(catalog_dir, (cloud for cloud in clouds if cloud not in CATALOGLESS_CLOUDS))
        return cls(
            config,
            loaded=loaded,
            kubernetes=resolve_rates(_kubernetes_sources(config)),
            overrides=build_overrides(config.overrides),
            session_factory=session_factory or requests.Session,
            clock=clock,
        )

    def price(self, query: PriceQuery) -> Price:
        """The hourly list price of the whole replica (all its nodes), or why there is none."""
        return price_of(self._snapshot.tables, query)

    @staticmethod
    def fixed(hourly: float | None = None, monthly: float | None = None) -> Price:
        """A fixed price (bare metal): ``hourly``, or ``monthly`` spread over 730 hours."""
        if hourly is not None and monthly is not None:
            raise ValueError("give an hourly or a monthly price, not both")
        if hourly is not None:
            value = hourly
        elif monthly is not None:
            value = monthly / HOURS_PER_MONTH
        else:
            return unpriced(NO_FIXED_PRICE)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"a fixed price must be a finite number >= 0, got {hourly or monthly}")
        return Price(hourly=value, source="fixed")

    def can_price(self) -> bool:
        """Whether anything at all can be priced: a catalog, Kubernetes rates or an override."""
        kubernetes = self._kubernetes.default is not None or bool(self._kubernetes.contexts)
        return bool(self._snapshot.tables.catalogs) or kubernetes or bool(self._overrides.rules)

    @property
    def catalog_dir(self) -> Path:
        return self._config.catalog_dir

    def health(self) -> tuple[CatalogHealth, ...]:
        loaded = self._snapshot.loaded
        with self._lock:
            return tuple(self._health(item) for _, item in sorted(loaded.items()))

    def metric_families(self, now: float, shard: Shard = UNSHARDED) -> list[Metric]:
        """Catalog health families, of the clouds ``shard`` owns (every shard loads every catalog, to
        price its replicas; each cloud's health is served once). ``now`` is unused: ages are left
        to Prometheus (time() - timestamp)."""
        del now
        owns = shard.owner()
        return _health_families(item for item in self.health() if owns(item.cloud))

    def refresh(self) -> None:
        """Download each cloud's catalog and swap in the ones that arrived intact.

        A failure keeps the cached catalog and is counted per cloud; it never raises, as it runs on
        a scheduler thread.
        """
        with self._refresh_lock:
            loaded = dict(self._snapshot.loaded)
            for cloud in self._refresh_clouds(loaded):
                result = self._refresh_cloud(cloud)
                if result is not None:
                    loaded[cloud] = result
                elif cloud not in loaded:  # so health() shows the failures of a cloud never loaded
                    loaded[cloud] = load_catalog(self._config.catalog_dir, cloud)
            self._snapshot = self._make_snapshot(loaded)

    def _refresh_clouds(self, loaded: Mapping[str, LoadedCatalog]) -> tuple[str, ...]:
        if self._config.clouds is not None:
            return tuple(cloud for cloud in self._config.clouds if cloud not in CATALOGLESS_CLOUDS)
        return tuple(sorted(loaded)) or DEFAULT_REFRESH_CLOUDS

    def _refresh_cloud(self, cloud: str) -> LoadedCatalog | None:
        catalog_dir = self._config.catalog_dir
        error = ""
        result = None
        try:
            if locally_modified(catalog_dir, cloud):
                error = LOCALLY_MODIFIED
            else:
                download = self._source.fetch(cloud)
                path = store(catalog_dir, cloud, download.data)
                result = catalog_from(cloud, path, download.parsed, path.stat().st_mtime)
        except (RefreshError, OSError) as exc:
            error = str(exc)
            logger.warning("keeping the cached %s price catalog: refresh failed: %s", cloud, error)
        self._record_refresh(cloud, error, failed=result is None and error != LOCALLY_MODIFIED)
        return result

    def _record_refresh(self, cloud: str, error: str, failed: bool) -> None:
        with self._lock:
            self._refreshed_at[cloud] = self._clock()
            self._refresh_errors[cloud] = error
            if failed:
                self._failures[cloud] += 1

    def _make_snapshot(self, loaded: Mapping[str, LoadedCatalog]) -> _Snapshot:
        catalogs = {cloud: item.catalog for cloud, item in loaded.items() if item.catalog is not None}
        tables = PriceTables(catalogs=catalogs, kubernetes=self._kubernetes, overrides=self._overrides)
        return _Snapshot(tables=tables, loaded=dict(loaded))

    def _health(self, item: LoadedCatalog) -> CatalogHealth:
        return CatalogHealth(
            cloud=item.cloud,
            path=item.path,
            loaded=item.catalog is not None,
            rows=item.rows,
            rows_skipped=item.rows_skipped,
            updated_at=item.updated_at,
            load_error=item.error,
            refresh_failures=self._failures[item.cloud],
            last_refresh_error=self._refresh_errors.get(item.cloud, ""),
            last_refresh_at=self._refreshed_at.get(item.cloud),
        )


def _kubernetes_sources(config: PricingConfig) -> list[KubernetesPricing]:
    """SkyPilot's config first, so the exporter's own ``pricing.kubernetes`` wins where both set a key."""
    sources = []
    if config.skypilot_config is not None:
        from_skypilot = read_skypilot_pricing(config.skypilot_config)
        if from_skypilot is not None:
            sources.append(from_skypilot)
    if config.kubernetes is not None:
        sources.append(config.kubernetes)
    return sources


def price_of(tables: PriceTables, query: PriceQuery) -> Price:
    cloud = query.cloud.lower()
    if not cloud:
        return _NO_PLACEMENT
    if query.nodes < 1:
        return _INCOMPLETE
    override = tables.overrides.hourly(query, cloud)
    if override is not None:
        return Price(hourly=override * query.nodes, source="override")
    if cloud in CATALOGLESS_CLOUDS:
        quote = tables.kubernetes.quote(query)
    else:
        catalog = tables.catalogs.get(cloud)
        if catalog is None:
            return _NO_CATALOG
        quote = catalog_quote(catalog, query)
    if isinstance(quote, str):
        return unpriced(quote)
    return Price(hourly=quote * query.nodes, source="catalog")


def _health_families(health: Iterable[CatalogHealth]) -> list[Metric]:
    out = FamilyBuilder(PRICING_METRICS, refresh_seconds=None)
    for item in health:
        labels = (item.cloud,)
        out.add("skyserve_pricing_catalog_rows", labels, item.rows)
        out.add("skyserve_pricing_catalog_rows_skipped", labels, item.rows_skipped)
        if item.updated_at is not None:
            out.add("skyserve_pricing_catalog_updated_timestamp_seconds", labels, item.updated_at)
        out.add("skyserve_pricing_refresh_failures_total", labels, item.refresh_failures)
    return out.families()

"""Pricing one query against one immutable set of tables: overrides, then catalog or Kubernetes rates.

The whole replica's price is the per-node price times the node count, as SkyPilot's ``get_cost``
is per node. With no region the cheapest region offering everything is used, the joint minimum
that SkyPilot 0.14's ``Resources.get_cost`` takes.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from collectors.pricing.catalog import CloudCatalog, Quote
from collectors.pricing.kubernetes import KubernetesRates
from collectors.pricing.loader import CATALOGLESS_CLOUDS
from collectors.pricing.model import (
    INCOMPLETE_RESOURCES,
    NO_CATALOG,
    NO_PLACEMENT,
    Price,
    PriceQuery,
    unpriced,
)
from collectors.pricing.overrides import OverrideTable

_NO_PLACEMENT = unpriced(NO_PLACEMENT)
_INCOMPLETE = unpriced(INCOMPLETE_RESOURCES)
_NO_CATALOG = unpriced(NO_CATALOG)


@dataclass(frozen=True)
class PriceTables:
    """Everything a query is priced from; replaced whole, never changed in place."""

    catalogs: Mapping[str, CloudCatalog]
    kubernetes: KubernetesRates
    overrides: OverrideTable


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


def catalog_quote(catalog: CloudCatalog, query: PriceQuery) -> Quote:
    """One node's hourly price from a catalog."""
    if not query.instance_type:
        return INCOMPLETE_RESOURCES
    if not query.region:
        return _cheapest_region(catalog, query)
    return _node_quote(catalog, query, query.region, query.zone)


def _node_quote(catalog: CloudCatalog, query: PriceQuery, region: str, zone: str) -> Quote:
    host = catalog.instance_quote(query.instance_type, region, zone, query.spot)
    if isinstance(host, str) or not (catalog.separate_accelerators and query.accelerator):
        return host
    count = query.accelerators_per_node
    if count is None:
        return INCOMPLETE_RESOURCES
    gpu = catalog.accelerator_quote(query.accelerator, count, region, zone, query.spot)
    return gpu if isinstance(gpu, str) else host + gpu


def _cheapest_region(catalog: CloudCatalog, query: PriceQuery) -> Quote:
    quotes = [_node_quote(catalog, query, region, "") for region in catalog.regions_of(query.instance_type)]
    prices = [quote for quote in quotes if not isinstance(quote, str)]
    if prices:
        return min(prices)
    return quotes[0] if quotes else catalog.instance_quote(query.instance_type, "", "", query.spot)

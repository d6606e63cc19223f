"""One cloud's catalog: its rows, indexed for dict lookups, and SkyPilot's rules for pricing a node from it.

The rules are those of SkyPilot 0.14's ``sky/catalog/common.py::get_hourly_cost_impl`` and
``gcp_catalog.py::get_accelerator_hourly_cost``:

- spot uses the SpotPrice column, on-demand the Price column;
- with a zone, that zone's row; without one, the cheapest row of the region (empty cells skipped);
- an empty price cell for the chosen row(s) means no price, never zero;
- GCP prices a GPU on its own row (matched by accelerator name, case-insensitive, and count) that is
  added to the host's price; for a spot GPU with no spot price it falls back to the on-demand price;
- with no region, the cheapest region offering everything is used, the joint minimum that
  SkyPilot 0.14's ``Resources.get_cost`` takes.

Regions compare case-insensitively, zones exactly, as SkyPilot does. One deliberate difference: a
zone the catalog does not list prices as the region's cheapest row instead of failing, because
SkyPilot's hosted AWS catalog names zones by ID (``use2-az1``) while SkyServe shows names
(``us-east-2a``) unless an account's zone mapping is available (see ``catalog_files.py``).
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from collectors.pricing.prices import (
    INCOMPLETE_RESOURCES,
    NO_PRICE,
    NO_SPOT_PRICE,
    UNKNOWN_ACCELERATOR,
    UNKNOWN_INSTANCE_TYPE,
    UNKNOWN_REGION,
    PriceQuery,
    Quote,
)

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class CatalogRow:
    """One well-formed row of a cloud's vms.csv (read by ``catalog_files.parse_catalog``)."""

    instance_type: str  # "" on GCP accelerator rows
    accelerator: str
    accelerator_count: float | None
    price: float | None
    spot_price: float | None
    region: str
    zone: str  # "" where the catalog has no zones (Azure)


@dataclass(frozen=True, slots=True)
class Offer:
    price: float | None
    spot: float | None


@dataclass(frozen=True, slots=True)
class RegionOffers:
    cheapest: Offer  # the minimum of each column over the region's zones
    zones: Mapping[str, Offer]

    def offer(self, zone: str) -> Offer:
        return self.zones.get(zone, self.cheapest) if zone else self.cheapest


AcceleratorKey = tuple[str, float]  # (lower-case name, count)


@dataclass(frozen=True)
class CloudCatalog:
    """Instance and accelerator offers by region; built once per load and never mutated."""

    instances: Mapping[str, Mapping[str, RegionOffers]]  # instance type -> lower-case region -> offers
    accelerators: Mapping[AcceleratorKey, Mapping[str, RegionOffers]]
    separate_accelerators: bool  # GCP: a GPU is priced on its own row, added to the host

    def instance_quote(self, instance_type: str, region: str, zone: str, spot: bool) -> Quote:
        regions = self.instances.get(instance_type)
        if regions is None:
            return UNKNOWN_INSTANCE_TYPE
        offers = regions.get(region.lower())
        if offers is None:
            return UNKNOWN_REGION
        offer = offers.offer(zone)
        value = offer.spot if spot else offer.price
        if value is None:
            return NO_SPOT_PRICE if spot else NO_PRICE
        return value

    def accelerator_quote(self, name: str, count: float, region: str, zone: str, spot: bool) -> Quote:
        offers = self.accelerators.get((name.lower(), count), {}).get(region.lower())
        if offers is None:
            return UNKNOWN_ACCELERATOR
        offer = offers.offer(zone)
        if spot and offer.spot is not None:
            return offer.spot
        return NO_PRICE if offer.price is None else offer.price

    def regions_of(self, instance_type: str) -> tuple[str, ...]:
        return tuple(self.instances.get(instance_type, {}))


def build_catalog(rows: Iterable[CatalogRow], separate_accelerators: bool) -> CloudCatalog:
    instances: dict[str, dict[str, list[CatalogRow]]] = defaultdict(lambda: defaultdict(list))
    accelerators: dict[AcceleratorKey, dict[str, list[CatalogRow]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        region = row.region.lower()
        if row.instance_type:
            instances[row.instance_type][region].append(row)
        # Like SkyPilot's _get_accelerator, any row naming the accelerator and count matches.
        if row.accelerator and row.accelerator_count is not None:
            accelerators[(row.accelerator.lower(), row.accelerator_count)][region].append(row)
    return CloudCatalog(
        instances=_index(instances),
        accelerators=_index(accelerators),
        separate_accelerators=separate_accelerators,
    )


def _index(groups: Mapping[K, Mapping[str, list[CatalogRow]]]) -> dict[K, Mapping[str, RegionOffers]]:
    return {
        key: {region: _region(rows) for region, rows in by_region.items()}
        for key, by_region in groups.items()
    }


def _region(rows: list[CatalogRow]) -> RegionOffers:
    by_zone: dict[str, list[CatalogRow]] = defaultdict(list)
    for row in rows:
        if row.zone:
            by_zone[row.zone].append(row)
    return RegionOffers(cheapest=_cheapest(rows), zones={zone: _cheapest(zr) for zone, zr in by_zone.items()})


def _cheapest(rows: list[CatalogRow]) -> Offer:
    return Offer(
        price=_min(row.price for row in rows),
        spot=_min(row.spot_price for row in rows),
    )


def _min(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return min(present) if present else None


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

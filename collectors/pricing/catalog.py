"""One cloud's catalog, indexed for dict lookups, with SkyPilot's price-selection rules.

The rules are those of SkyPilot 0.14's ``sky/catalog/common.py::get_hourly_cost_impl`` and
``gcp_catalog.py::get_accelerator_hourly_cost``:

- spot uses the SpotPrice column, on-demand the Price column;
- with a zone, that zone's row; without one, the cheapest row of the region (empty cells skipped);
- an empty price cell for the chosen row(s) means no price, never zero;
- GCP prices a GPU on its own row (matched by accelerator name, case-insensitive, and count) that is
  added to the host's price; for a spot GPU with no spot price it falls back to the on-demand price.

Regions compare case-insensitively, zones exactly, as SkyPilot does. One deliberate difference: a
zone the catalog does not list prices as the region's cheapest row instead of failing, because
SkyPilot's hosted AWS catalog names zones by ID (``use2-az1``) while SkyServe shows names
(``us-east-2a``) unless an account's zone mapping is available (see ``zones.py``).
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from collectors.pricing.catalog_csv import CatalogRow
from collectors.pricing.model import (
    NO_PRICE,
    NO_SPOT_PRICE,
    UNKNOWN_ACCELERATOR,
    UNKNOWN_INSTANCE_TYPE,
    UNKNOWN_REGION,
)

K = TypeVar("K")

# A price in $/h, or the reason there is none.
Quote = float | str


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

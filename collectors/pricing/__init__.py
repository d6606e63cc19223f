"""The price book: hourly list prices for replicas and nodes, from SkyPilot's own catalogs and rules.

Used by the SkyServe, Kubernetes and bare-metal collectors, which import it from here only: the
modules inside are the pricing plugin's own. Prices follow SkyPilot 0.14 (v8 catalogs,
``kubernetes.pricing``); overrides and fixed prices come from the ``pricing:`` config.
"""

from collectors.pricing.book import PRICING_METRICS, CatalogHealth, PriceBook
from collectors.pricing.config import KubernetesPricing, PriceOverride, PricingConfig, PricingRates
from collectors.pricing.prices import (
    HOURS_PER_MONTH,
    INCOMPLETE_RESOURCES,
    NO_FIXED_PRICE,
    NO_PRICE_BOOK,
    Price,
    PriceQuery,
    PriceSource,
    unpriced,
)
from collectors.pricing.replica_costs import (
    NO_COSTS,
    REPLICA_COST_SPECS,
    CostAccrual,
    PricedReplica,
    ReplicaCosts,
    ServiceCosts,
)

__all__ = [
    "HOURS_PER_MONTH",
    "INCOMPLETE_RESOURCES",
    "NO_COSTS",
    "NO_FIXED_PRICE",
    "NO_PRICE_BOOK",
    "PRICING_METRICS",
    "REPLICA_COST_SPECS",
    "CatalogHealth",
    "CostAccrual",
    "KubernetesPricing",
    "Price",
    "PriceBook",
    "PriceOverride",
    "PriceQuery",
    "PriceSource",
    "PricedReplica",
    "PricingConfig",
    "PricingRates",
    "ReplicaCosts",
    "ServiceCosts",
    "unpriced",
]

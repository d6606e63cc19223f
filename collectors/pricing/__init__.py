"""The price book: hourly list prices for replicas and nodes, from SkyPilot's own catalogs and rules.

Used by the SkyServe, Kubernetes and bare-metal collectors. Prices follow SkyPilot 0.14 (v8
catalogs, ``kubernetes.pricing``); overrides and fixed prices come from the ``pricing:`` config.
"""

from collectors.pricing.book import PriceBook
from collectors.pricing.config import KubernetesPricing, PriceOverride, PricingConfig, PricingRates
from collectors.pricing.health import PRICING_METRICS, CatalogHealth
from collectors.pricing.model import Price, PriceQuery, PriceSource

__all__ = [
    "PRICING_METRICS",
    "CatalogHealth",
    "KubernetesPricing",
    "Price",
    "PriceBook",
    "PriceOverride",
    "PriceQuery",
    "PriceSource",
    "PricingConfig",
    "PricingRates",
]

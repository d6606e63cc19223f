"""The cost families every replica source emits, with one meaning and one label set.

SkyServe, Kubernetes and bare-metal replicas all land in the same three families (joined at
scrape time), so the cost panels add them up without caring where a replica runs.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from collectors.pricing.accrual import CostAccrual
from collectors.pricing.model import Price
from exporter.metrics import FamilyBuilder, MetricSpec

REPLICA_COST_LABELS = ("service_name", "replica_id", "source", "cloud", "region", "spot", "price_source")

REPLICA_HOURLY_COST = MetricSpec(
    "skyserve_replica_hourly_cost_dollars",
    "gauge",
    "USD list price per hour of the resources the replica holds (list price, not the billed cost).",
    REPLICA_COST_LABELS,
)
REPLICA_COST_TOTAL = MetricSpec(
    "skyserve_replica_cost_dollars_total",
    "counter",
    "USD list price accrued by the replica since the exporter started, integrated over the time "
    "between collections and not across stale gaps (list price, not the billed cost).",
    REPLICA_COST_LABELS,
)
UNPRICED_REPLICAS = MetricSpec(
    "skyserve_unpriced_replicas",
    "gauge",
    "Replicas holding resources that could not be priced, by reason; they are missing from the "
    "cost totals, never counted as free.",
    ("service_name", "source", "reason"),
)
REPLICA_COST_SPECS = (REPLICA_HOURLY_COST, REPLICA_COST_TOTAL, UNPRICED_REPLICAS)


@dataclass(frozen=True, slots=True)
class PricedReplica:
    """A replica that holds resources, with what the price book said about it."""

    service_name: str
    replica_id: str
    source: str
    cloud: str
    region: str
    spot: bool
    price: Price


class ReplicaCosts:
    """One collector's cost samples; owns the accrued totals, so keep one per collector."""

    def __init__(self, stale_after: float) -> None:
        self._accrual: CostAccrual[tuple[str, ...]] = CostAccrual(stale_after)

    def add(self, out: FamilyBuilder, now: float, replicas: Iterable[PricedReplica]) -> None:
        hourly: dict[tuple[str, ...], float] = {}
        unpriced: Counter[tuple[str, str, str]] = Counter()
        for replica in replicas:
            if replica.price.hourly is None:
                unpriced[(replica.service_name, replica.source, replica.price.reason)] += 1
                continue
            hourly[_labels(replica)] = replica.price.hourly
        totals = self._accrual.observe(now, hourly)
        for labels, rate in hourly.items():
            out.add(REPLICA_HOURLY_COST.name, labels, rate)
            out.add(REPLICA_COST_TOTAL.name, labels, totals[labels])
        for labels3, count in sorted(unpriced.items()):
            out.add(UNPRICED_REPLICAS.name, labels3, count)


def _labels(replica: PricedReplica) -> tuple[str, ...]:
    spot = "true" if replica.spot else "false"
    return (
        replica.service_name,
        replica.replica_id,
        replica.source,
        replica.cloud,
        replica.region,
        spot,
        replica.price.source,
    )

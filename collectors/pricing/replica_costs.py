"""The cost families every replica source emits, with one meaning and one label set, and their accrual.

SkyServe, Kubernetes and bare-metal replicas all land in the same three families (joined at
scrape time), so the cost panels add them up without caring where a replica runs.

Accrued spend is the hourly list prices integrated over the real time between two collections.
The state is explicit and owned by one collector, keyed by the label values of the cost series, so
a series keeps counting up across snapshots and is forgotten only once its replica has been gone
for good.
"""

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar

from collectors.pricing.prices import Price
from exporter.collector import CostSlice, cost_slices
from exporter.metrics import FamilyBuilder, MetricSpec

K = TypeVar("K", bound=Hashable)

_SECONDS_PER_HOUR = 3600.0
# A replica missing from one poll (a glitch upstream) keeps its total if it comes back soon.
_FORGET_AFTER_SECONDS = 3600.0

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


class PricedReplica(NamedTuple):
    """A replica that holds resources, with what the price book said about it.

    A named tuple, not a frozen dataclass: one is made per replica per collection, and a frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__``, several times slower."""

    service_name: str
    replica_id: str
    source: str
    cloud: str
    region: str
    spot: bool
    price: Price


@dataclass(frozen=True)
class ServiceCosts:
    """A service's cost samples summed: hourly price by (cloud, spot), and unpriced replicas by reason."""

    costs: tuple[CostSlice, ...] = ()
    unpriced: Mapping[str, int] = field(default_factory=dict)


NO_COSTS = ServiceCosts()


class ReplicaCosts:
    """One collector's cost samples; owns the accrued totals, so keep one per collector."""

    def __init__(self, stale_after: float) -> None:
        self._accrual: CostAccrual[tuple[str, ...]] = CostAccrual(stale_after)

    def add(
        self, out: FamilyBuilder, now: float, replicas: Iterable[PricedReplica]
    ) -> dict[str, ServiceCosts]:
        """Add the cost samples; returns what they say per service name, for its summary."""
        hourly: dict[tuple[str, ...], float] = {}
        unpriced: Counter[tuple[str, str, str]] = Counter()
        for replica in replicas:
            if replica.price.hourly is None:
                unpriced[(replica.service_name, replica.source, replica.price.reason)] += 1
                continue
            hourly[_labels(replica)] = replica.price.hourly
        totals = self._accrual.observe(now, hourly)
        # Both families' rows are the label tuples already made for the accrual; written when
        # the families are encoded, they cost no further object per replica.
        out.add_rows(REPLICA_HOURLY_COST.name, hourly.items)
        out.add_rows(REPLICA_COST_TOTAL.name, totals.items)
        for labels3, count in sorted(unpriced.items()):
            out.add(UNPRICED_REPLICAS.name, labels3, count)
        return _by_service(hourly, unpriced)


def _by_service(
    hourly: Mapping[tuple[str, ...], float], unpriced: Mapping[tuple[str, str, str], int]
) -> dict[str, ServiceCosts]:
    # Labels: service_name, replica_id, source, cloud, region, spot, price_source.
    priced: dict[str, list[tuple[str, bool, float]]] = {}
    for labels, rate in hourly.items():
        priced.setdefault(labels[0], []).append((labels[3], labels[5] == "true", rate))
    reasons: dict[str, dict[str, int]] = {}
    for (service, _source, reason), count in unpriced.items():
        reasons.setdefault(service, {})[reason] = count
    return {
        name: ServiceCosts(cost_slices(priced.get(name, ())), reasons.get(name, {}))
        for name in priced.keys() | reasons.keys()
    }


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


@dataclass(slots=True)
class _Account:
    total: float
    hourly: float
    seen_at: float


class CostAccrual(Generic[K]):
    """Dollars spent per key since the exporter started.

    Each collection adds the *previous* collection's hourly price times the time since then
    (the replica held those resources at that price during the interval). A gap longer than
    ``stale_after`` adds nothing: the exporter did not see the fleet then and does not guess.
    """

    def __init__(self, stale_after: float, forget_after: float = _FORGET_AFTER_SECONDS) -> None:
        self._stale_after = stale_after
        self._forget_after = forget_after
        self._accounts: dict[K, _Account] = {}
        self._last_at: float | None = None

    def observe(self, now: float, hourly: Mapping[K, float]) -> dict[K, float]:
        """Record this collection's prices; the running totals of the keys priced now."""
        elapsed = 0.0 if self._last_at is None else now - self._last_at
        accrues = 0.0 < elapsed <= self._stale_after
        for key, rate in hourly.items():
            account = self._accounts.get(key)
            if account is None:
                self._accounts[key] = _Account(total=0.0, hourly=rate, seen_at=now)
                continue
            if accrues and account.seen_at == self._last_at:
                account.total += account.hourly * elapsed / _SECONDS_PER_HOUR
            account.hourly, account.seen_at = rate, now
        self._forget(now)
        self._last_at = now
        return {key: self._accounts[key].total for key in hourly}

    def _forget(self, now: float) -> None:
        gone = [key for key, acc in self._accounts.items() if now - acc.seen_at > self._forget_after]
        for key in gone:
            del self._accounts[key]

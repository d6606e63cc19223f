"""What the price book is asked (``PriceQuery``) and answers (``Price``), and the rules that need no catalog.

An unpriced answer carries a short snake_case reason instead of a zero, so dashboards can show
which replicas are missing from the cost totals and why.

Operator overrides (``pricing.overrides``) win over catalogs and rates: the most specific matching
rule applies.

Kubernetes and SSH-node-pool prices come from ``kubernetes.pricing`` rates, as SkyPilot 0.14
computes them in ``sky/catalog/common.py::get_hourly_cost_from_pricing``: a pod with accelerators
costs ``count x rate`` for its accelerator and nothing for CPU and memory (GPU rates are all-in); a
pod without costs ``cpus x cpu + memory x memory``. Contexts resolve as
``resolve_pricing_config(('kubernetes','pricing'), ('kubernetes','context_configs',ctx,'pricing'))``:
later levels replace cpu/memory and merge accelerators by name. SSH node pools go through the same
code with the context ``ssh-<pool>``.

Two deliberate differences, so that nothing is silently priced at $0: SkyPilot prices a pod at $0
when no pricing is configured, or when its accelerator has no rate; here those are unpriced
(``no_kubernetes_pricing``, ``unknown_accelerator``).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from collectors.pricing.config import KubernetesPricing, PriceOverride, PricingRates

PriceSource = Literal["catalog", "override", "fixed", "unknown"]

# Why a query has no price.
NO_PLACEMENT: Final = "no_placement"  # the cloud is not known yet (e.g. a PENDING replica)
INCOMPLETE_RESOURCES: Final = "incomplete_resources"  # instance type, GPU count, cpus or nodes missing
NO_CATALOG: Final = "no_catalog"  # no vms.csv loaded for the cloud
UNKNOWN_INSTANCE_TYPE: Final = "unknown_instance_type"
UNKNOWN_REGION: Final = "unknown_region"  # the instance type is not offered in that region
UNKNOWN_ACCELERATOR: Final = "unknown_accelerator"  # no price row / rate for the accelerator
NO_PRICE: Final = "no_price"  # the on-demand price cell is empty
NO_SPOT_PRICE: Final = "no_spot_price"  # the spot price cell is empty
NO_KUBERNETES_PRICING: Final = "no_kubernetes_pricing"  # Kubernetes/SSH without kubernetes.pricing
NO_FIXED_PRICE: Final = "no_fixed_price"  # a bare-metal node with neither hourly nor monthly cost
NO_PRICE_BOOK: Final = "no_price_book"  # the collector was given no price book at all

HOURS_PER_MONTH: Final = 730.0  # the convention cloud providers use for monthly list prices


@dataclass(frozen=True, slots=True)
class PriceQuery:
    """Where a replica (or node) runs and on what; empty strings and None where unknown.

    ``cloud`` is lower-case. For Kubernetes ``context`` names the kubeconfig context; SkyServe
    reports it as the region (``ssh-<pool>`` for SSH node pools), so it may be left empty.
    """

    cloud: str
    region: str
    zone: str
    instance_type: str
    accelerator: str
    accelerators_per_node: float | None
    cpus: float | None
    memory_gib: float | None
    spot: bool
    nodes: int
    context: str = ""


@dataclass(frozen=True, slots=True)
class Price:
    """An hourly USD list price for the whole replica, or None with the reason it has none."""

    hourly: float | None
    source: PriceSource
    reason: str = ""


def unpriced(reason: str) -> Price:
    return Price(hourly=None, source="unknown", reason=reason)


# One node's price in $/h, or the reason there is none.
Quote = float | str


@dataclass(frozen=True, slots=True)
class _Rule:
    """One override with its match values normalised as queries are compared."""

    cloud: str | None
    region: str | None
    instance_type: str | None
    accelerator: str | None
    spot: bool | None
    hourly: float

    def matches(self, query: PriceQuery, cloud: str) -> bool:
        return (
            (self.cloud is None or self.cloud == cloud)
            and (self.region is None or self.region == query.region.lower())
            and (self.instance_type is None or self.instance_type == query.instance_type)
            and (self.accelerator is None or self.accelerator == query.accelerator.lower())
            and (self.spot is None or self.spot == query.spot)
        )


@dataclass(frozen=True)
class OverrideTable:
    rules: tuple[_Rule, ...] = ()  # most specific first; ties keep the config's order

    def hourly(self, query: PriceQuery, cloud: str) -> float | None:
        """The per-node hourly price of the first (most specific) matching rule, if any."""
        for rule in self.rules:
            if rule.matches(query, cloud):
                return rule.hourly
        return None


def build_overrides(overrides: Iterable[PriceOverride]) -> OverrideTable:
    rules = [_rule(override) for override in overrides]
    # sorted() is stable, so equally specific rules stay in config order.
    return OverrideTable(rules=tuple(sorted(rules, key=lambda rule: -_specificity(rule))))


def _rule(override: PriceOverride) -> _Rule:
    return _Rule(
        cloud=_lower(override.cloud),
        region=_lower(override.region),
        instance_type=override.instance_type,
        accelerator=_lower(override.accelerator),
        spot=override.spot,
        hourly=override.hourly,
    )


def _specificity(rule: _Rule) -> int:
    fields = (rule.cloud, rule.region, rule.instance_type, rule.accelerator, rule.spot)
    return sum(value is not None for value in fields)


def _lower(value: str | None) -> str | None:
    return None if value is None else value.strip().lower()


@dataclass(frozen=True, slots=True)
class ContextRates:
    """One context's rates after its levels are layered."""

    cpu: float | None = None
    memory: float | None = None
    accelerators: Mapping[str, float] = field(default_factory=dict)  # lower-case name -> $/device/h

    def merged(self, level: PricingRates) -> "ContextRates":
        accelerators = dict(self.accelerators)
        accelerators.update({name.lower(): rate for name, rate in level.accelerators.items()})
        return ContextRates(
            cpu=level.cpu if level.cpu is not None else self.cpu,
            memory=level.memory if level.memory is not None else self.memory,
            accelerators=accelerators,
        )

    @property
    def empty(self) -> bool:
        return self.cpu is None and self.memory is None and not self.accelerators


@dataclass(frozen=True)
class KubernetesRates:
    """Rates resolved once per context; ``default`` for contexts without an entry of their own."""

    default: ContextRates | None = None
    contexts: Mapping[str, ContextRates] = field(default_factory=dict)

    def for_context(self, context: str) -> ContextRates | None:
        return self.contexts.get(context, self.default)

    def quote(self, query: PriceQuery) -> Quote:
        rates = self.for_context(query.context or query.region)
        if rates is None:
            return NO_KUBERNETES_PRICING
        return pod_quote(rates, query)


def pod_quote(rates: ContextRates, query: PriceQuery) -> Quote:
    """One node's hourly price under ``rates``."""
    if query.accelerator:
        count = query.accelerators_per_node
        if count is None:
            return INCOMPLETE_RESOURCES
        if count > 0:
            rate = rates.accelerators.get(query.accelerator.lower())
            return UNKNOWN_ACCELERATOR if rate is None else count * rate
    if rates.cpu is None and rates.memory is None:
        return NO_KUBERNETES_PRICING
    cpu = _component(query.cpus, rates.cpu)
    memory = _component(query.memory_gib, rates.memory)
    if cpu is None or memory is None:
        return INCOMPLETE_RESOURCES
    return cpu + memory


def _component(amount: float | None, rate: float | None) -> float | None:
    """amount x rate; an unset rate costs nothing (as in SkyPilot), an unknown amount is unknown."""
    if rate is None:
        return 0.0
    return None if amount is None else amount * rate


def resolve_rates(sources: Iterable[KubernetesPricing]) -> KubernetesRates:
    """Layer the sources (later wins): every global level first, then every context level."""
    sources = tuple(sources)
    default = ContextRates()
    for source in sources:
        default = default.merged(source)
    contexts: dict[str, ContextRates] = {}
    for source in sources:
        for name, level in source.context_configs.items():
            contexts[name] = contexts.get(name, default).merged(level)
    return KubernetesRates(
        default=None if default.empty else default,
        contexts={name: rates for name, rates in contexts.items() if not rates.empty},
    )

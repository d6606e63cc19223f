"""Kubernetes and SSH-node-pool prices from ``kubernetes.pricing`` rates, as SkyPilot 0.14 computes them.

``sky/catalog/common.py::get_hourly_cost_from_pricing``: a pod with accelerators costs
``count x rate`` for its accelerator and nothing for CPU and memory (GPU rates are all-in); a pod
without costs ``cpus x cpu + memory x memory``. Contexts resolve as
``resolve_pricing_config(('kubernetes','pricing'), ('kubernetes','context_configs',ctx,'pricing'))``:
later levels replace cpu/memory and merge accelerators by name. SSH node pools go through the same
code with the context ``ssh-<pool>``.

Two deliberate differences, so that nothing is silently priced at $0: SkyPilot prices a pod at $0
when no pricing is configured, or when its accelerator has no rate; here those are unpriced
(``no_kubernetes_pricing``, ``unknown_accelerator``).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from collectors.pricing.catalog import Quote
from collectors.pricing.config import KubernetesPricing, PricingRates
from collectors.pricing.model import (
    INCOMPLETE_RESOURCES,
    NO_KUBERNETES_PRICING,
    UNKNOWN_ACCELERATOR,
    PriceQuery,
)


@dataclass(frozen=True, slots=True)
class Rates:
    cpu: float | None = None
    memory: float | None = None
    accelerators: Mapping[str, float] = field(default_factory=dict)  # lower-case name -> $/device/h

    def merged(self, level: PricingRates) -> "Rates":
        accelerators = dict(self.accelerators)
        accelerators.update({name.lower(): rate for name, rate in level.accelerators.items()})
        return Rates(
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

    default: Rates | None = None
    contexts: Mapping[str, Rates] = field(default_factory=dict)

    def for_context(self, context: str) -> Rates | None:
        return self.contexts.get(context, self.default)

    def quote(self, query: PriceQuery) -> Quote:
        rates = self.for_context(query.context or query.region)
        if rates is None:
            return NO_KUBERNETES_PRICING
        return pod_quote(rates, query)


def pod_quote(rates: Rates, query: PriceQuery) -> Quote:
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
    default = Rates()
    for source in sources:
        default = default.merged(source)
    contexts: dict[str, Rates] = {}
    for source in sources:
        for name, level in source.context_configs.items():
            contexts[name] = contexts.get(name, default).merged(level)
    return KubernetesRates(
        default=None if default.empty else default,
        contexts={name: rates for name, rates in contexts.items() if not rates.empty},
    )

"""Operator-set prices that win over catalogs: the most specific matching rule applies."""

from collections.abc import Iterable
from dataclasses import dataclass

from collectors.pricing.config import PriceOverride
from collectors.pricing.model import PriceQuery


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

"""Declared metric families: the one table per collector that docs and tests check against.

A collector lists its families as ``MetricSpec`` rows (like kube-state-metrics' family tables) and
builds fresh prometheus_client families from them on every collection, so nothing labelled outlives
a snapshot.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.samples import Sample

MetricType = Literal["gauge", "counter"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric family: its full exposition name (counters end in ``_total``), type, help, labels."""

    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...] = ()

    def family(self, refresh_seconds: float | None = None) -> GaugeMetricFamily | CounterMetricFamily:
        """A fresh, empty family; with ``refresh_seconds`` the HELP says how old the data may be."""
        doc = self.help
        if refresh_seconds is not None:
            doc = f"{doc} Refreshed every {refresh_seconds:g}s."
        if self.type == "counter":
            return CounterMetricFamily(self.name, doc, labels=list(self.labels))
        return GaugeMetricFamily(self.name, doc, labels=list(self.labels))


@dataclass(frozen=True)
class MetricTable:
    """The families one collector may emit, in exposition order."""

    specs: tuple[MetricSpec, ...]

    def __iter__(self) -> Iterator[MetricSpec]:
        return iter(self.specs)

    def by_name(self, name: str) -> MetricSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(name)


class FamilyBuilder:
    """Collects samples per declared family for one snapshot, checking label arity as it goes."""

    def __init__(self, table: MetricTable, refresh_seconds: float | None) -> None:
        self._table = table
        self._families = {spec.name: spec.family(refresh_seconds) for spec in table.specs}
        self._labels = {spec.name: spec.labels for spec in table.specs}

    def add(self, name: str, label_values: Sequence[str], value: float) -> None:
        labels = self._labels[name]
        if len(label_values) != len(labels):
            raise ValueError(f"{name} takes {len(labels)} labels, got {len(label_values)}")
        family = self._families[name]
        # CounterMetricFamily names the family without ``_total`` and its samples with it.
        sample_name = f"{family.name}_total" if family.type == "counter" else family.name
        family.samples.append(Sample(sample_name, dict(zip(labels, label_values, strict=True)), value))

    def families(self) -> list[Metric]:
        """Every declared family, empty ones included: an absent family is also information."""
        return [self._families[spec.name] for spec in self._table.specs]


def samples_count(families: Iterable[Metric]) -> int:
    return sum(len(family.samples) for family in families)

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


SampleKey = tuple[str, tuple[str, ...], float]


class SampleReuse:
    """The previous collection's samples, handed out again when name, labels and value are equal.

    A collector that keeps one of these gets the very same ``Sample`` objects for what did not
    change between two polls, which the renderer recognises by identity and does not encode
    again: most of a big, mostly steady fleet then costs a dict lookup a sample, not an encoding.
    Owned by one collector; only the last collection's samples are kept.
    """

    def __init__(self) -> None:
        self._previous: dict[SampleKey, Sample] = {}
        self._current: dict[SampleKey, Sample] = {}

    def sample(
        self, sample_name: str, label_names: Sequence[str], label_values: tuple[str, ...], value: float
    ) -> Sample:
        key = (sample_name, label_values, value)
        sample = self._previous.get(key)
        if sample is None:
            sample = Sample(sample_name, dict(zip(label_names, label_values, strict=True)), value)
        self._current[key] = sample
        return sample

    def rotate(self) -> None:
        """End of a collection: what was handed out becomes what may be reused next time."""
        self._previous, self._current = self._current, {}


class FamilyBuilder:
    """Collects samples per declared family for one snapshot, checking label arity as it goes."""

    def __init__(
        self, table: MetricTable, refresh_seconds: float | None, reuse: SampleReuse | None = None
    ) -> None:
        self._table = table
        self._families = {spec.name: spec.family(refresh_seconds) for spec in table.specs}
        self._labels = {spec.name: spec.labels for spec in table.specs}
        self._reuse = reuse if reuse is not None else SampleReuse()

    def add(self, name: str, label_values: Sequence[str], value: float) -> None:
        labels = self._labels[name]
        if len(label_values) != len(labels):
            raise ValueError(f"{name} takes {len(labels)} labels, got {len(label_values)}")
        family = self._families[name]
        # CounterMetricFamily names the family without ``_total`` and its samples with it.
        sample_name = f"{family.name}_total" if family.type == "counter" else family.name
        family.samples.append(self._reuse.sample(sample_name, labels, tuple(label_values), value))

    def families(self) -> list[Metric]:
        """Every declared family, empty ones included: an absent family is also information."""
        self._reuse.rotate()
        return [self._families[spec.name] for spec in self._table.specs]


def samples_count(families: Iterable[Metric]) -> int:
    return sum(len(family.samples) for family in families)

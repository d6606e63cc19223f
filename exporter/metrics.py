"""Declared metric families: the one table per collector that docs and tests check against.

A collector lists its families as ``MetricSpec`` rows (like kube-state-metrics' family tables) and
builds fresh families from them on every collection (``RowFamily``: label values and a value per
sample, or a function making them from the build's records), so nothing labelled outlives a
snapshot.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from prometheus_client.core import Metric
from prometheus_client.samples import Sample

MetricType = Literal["gauge", "counter"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric family: its full exposition name (counters end in ``_total``), type, help, labels."""

    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...] = ()

    def documentation(self, refresh_seconds: float | None = None) -> str:
        return self.help if refresh_seconds is None else f"{self.help} Refreshed every {refresh_seconds:g}s."


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


Row = tuple[Sequence[str], float]
"""One sample: its label values, in the family's declared label order, and its value."""


class RowFamily(Metric):
    """A gauge or counter family kept as rows rather than a ``Sample`` and label dict per sample.

    Rows are either kept (``rows``) or made when the family is encoded, from records the build
    holds anyway (``sources``): a fleet's per-replica families then cost no object per sample
    between the build and the encoding, only the lines of the family being written. It is a
    prometheus_client ``Metric``, so whatever reads ``samples`` (its encoders, tests) still can;
    those are made on demand.
    """

    def __init__(self, spec: "MetricSpec", documentation: str) -> None:
        name = spec.name.removesuffix("_total") if spec.type == "counter" else spec.name
        super().__init__(name, documentation, spec.type)
        self.sample_name = spec.name
        self.label_names = spec.labels
        self.rows: list[Row] = []
        self.sources: list[tuple[object | None, Callable[[], Iterable[Row]]]] = []  # (key, rows)

    def all_rows(self) -> Iterator[Row]:
        yield from self.rows
        for _, source in self.sources:
            yield from source()

    def parts(self) -> Iterator[tuple[object | None, Callable[[], Iterable[Row]]]]:
        """The rows in the order they are written, in parts: the kept rows, then each source with
        its key (None for none)."""
        if self.rows:
            yield None, self.rows.__iter__
        yield from self.sources

    @property
    def samples(self) -> list[Sample]:
        names, name = self.label_names, self.sample_name
        return [
            Sample(name, dict(zip(names, values, strict=True)), value) for values, value in self.all_rows()
        ]

    @samples.setter
    def samples(self, samples: list[Sample]) -> None:
        # Metric.__init__ sets an empty list; anything else is taken in as rows.
        self.rows = [(tuple(s.labels[name] for name in self.label_names), s.value) for s in samples]
        self.sources = []


class FamilyBuilder:
    """Collects samples per declared family for one snapshot, checking label arity as it goes."""

    def __init__(self, table: MetricTable, refresh_seconds: float | None) -> None:
        self._table = table
        self._families = {
            spec.name: RowFamily(spec, spec.documentation(refresh_seconds)) for spec in table.specs
        }
        self._rows = {name: (len(family.label_names), family.rows) for name, family in self._families.items()}

    def add(self, name: str, label_values: Sequence[str], value: float) -> None:
        arity, rows = self._rows[name]
        if len(label_values) != arity:
            raise ValueError(f"{name} takes {arity} labels, got {len(label_values)}")
        rows.append((label_values, value))

    def add_rows(self, name: str, rows: Callable[[], Iterable[Row]], key: object | None = None) -> None:
        """Rows made when the family is encoded (each time it is read): ``rows`` must read only
        what does not change before then, such as the build's records. Their label count is
        checked when they are written.

        ``key``, when given, is an object that stands for these very rows for as long as it is
        the same object (an immutable record they are made from, such as a service kept from the
        last poll): the series store then writes the lines it wrote for that key at the last
        collection without calling ``rows``. Only an object the collector reuses unchanged can
        be a key; a new object each collection just never matches."""
        self._families[name].sources.append((key, rows))

    def families(self) -> list[Metric]:
        """Every declared family, empty ones included: an absent family is also information."""
        return [self._families[spec.name] for spec in self._table.specs]


def samples_count(families: Iterable[Metric]) -> int:
    return sum(
        len(family.rows) if isinstance(family, RowFamily) else len(family.samples) for family in families
    )

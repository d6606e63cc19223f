from collections.abc import Sequence

import pytest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.samples import Sample

from exporter.metrics import FamilyBuilder, MetricSpec, MetricTable, RowFamily
from exporter.series import EncodedFamily, Format, SeriesStore, WholeFamily, encode_families

TABLE = MetricTable(
    (
        MetricSpec("skyserve_x_replicas", "gauge", 'Help with "quotes" and \\ slash.', ("service_name",)),
        MetricSpec("skyserve_x_info", "gauge", "Info.", ("service_name", "replica_id", "note")),
        MetricSpec("skyserve_x_events_total", "counter", "Events.", ("service_name",)),
        MetricSpec("skyserve_x_empty", "gauge", "Nothing yet.", ("service_name",)),
    )
)


def fleet(ready: dict[str, float]) -> list[Metric]:
    out = FamilyBuilder(TABLE, refresh_seconds=30)
    for service, count in ready.items():
        out.add("skyserve_x_replicas", (service,), count)
        out.add("skyserve_x_events_total", (service,), count * 2)
        for rid in range(int(count)):
            out.add("skyserve_x_info", (service, str(rid), 'a "b"\n c\r\\'), 1)
    return out.families()


def test_both_formats_are_byte_identical_to_prometheus_client_collection_after_collection() -> None:
    store = SeriesStore()
    collections: list[dict[str, float]] = [
        {"a": 2, "b": 1},
        {"a": 2, "b": 3},
        {"b": 3, "c": 1},
        {"b": 3, "c": 1},
    ]
    for ready in [*collections, {"c": -0.0}]:
        families = fleet(ready)
        series = store.encode(families)
        for fmt in Format:
            assert series.exposition(fmt) == encode_families(fmt, families)
            for family, original in zip(series.families, families, strict=True):
                assert isinstance(family, EncodedFamily)
                assert family.header(fmt) == encode_families(
                    fmt, [Metric(original.name, original.documentation, original.type)]
                )


def test_a_family_whose_lines_are_unchanged_keeps_its_body_object() -> None:
    store = SeriesStore()
    first = store.encode(fleet({"a": 2, "b": 1}))
    assert first.reused == 0
    unchanged = store.encode(fleet({"a": 2, "b": 1}))
    assert unchanged.reused == len(unchanged.families) == 4
    assert all(_body(a) is _body(b) for a, b in zip(first.families, unchanged.families, strict=True))
    families = fleet({"a": 2, "b": 1})
    events = families[2]
    assert isinstance(events, RowFamily) and events.rows[1] == (("b",), 2)
    events.rows[1] = (("b",), 7.0)  # b's events only
    changed = store.encode(families)
    assert changed.reused == 3
    assert b'skyserve_x_events_total{service_name="b"} 7.0\n' in changed.exposition(Format.OPENMETRICS)
    kept = [
        (a, b)
        for a, b in zip(changed.families, unchanged.families, strict=True)
        if a.name != "skyserve_x_events"
    ]
    assert len(kept) == 3 and all(_body(a) is _body(b) for a, b in kept)


def _body(family: EncodedFamily | WholeFamily) -> bytes:
    assert isinstance(family, EncodedFamily)
    return family.body


def test_a_series_whose_value_changes_is_written_as_prometheus_client_writes_it() -> None:
    store = SeriesStore()
    labels = {"service_name": 'a } 1.0 "b"\\', "replica_id": "1 2"}
    values = (
        1.0,
        2.5,
        float("nan"),
        float("inf"),
        -0.0,
        0.0,
        1e22,
        -1e-7,
        3,
        2**60,
        float("-inf"),
        1.0,
        True,
    )
    for value in values:
        family = Metric("skyserve_x_cost_dollars", "Cost.", "counter")
        family.add_sample("skyserve_x_cost_dollars_total", labels, value)
        series = store.encode([family])
        for fmt in Format:
            assert series.exposition(fmt) == encode_families(fmt, [family])
    # The same values as rows of one family, where each distinct value's text is made once.
    spec = MetricSpec("skyserve_x_cost_dollars_total", "counter", "Cost.", ("service_name", "replica_id"))
    out = FamilyBuilder(MetricTable((spec,)), refresh_seconds=None)
    for index, value in enumerate((*values, 0.0, -0.0, 0.0)):
        out.add(spec.name, (labels["service_name"], str(index)), value)
    families = out.families()
    for fmt in Format:
        assert store.encode(families).exposition(fmt) == encode_families(fmt, families)


def test_only_the_last_collection_is_kept() -> None:
    store = SeriesStore()
    store.encode(fleet({"a": 1}))
    store.encode(fleet({"b": 1}))
    assert store.encode(fleet({"a": 1})).reused == 1  # the empty family: a's bodies went with a


def test_a_prometheus_client_family_is_written_from_its_samples() -> None:
    def gauge(*samples: Sample) -> list[Metric]:
        family = Metric("skyserve_x", "X.", "gauge")
        family.samples = list(samples)
        return [family]

    store = SeriesStore()
    store.encode(gauge(Sample("skyserve_x", {"a": "1"}, 0.0)))
    for sample in (Sample("skyserve_x", {"b": "1"}, 0.0), Sample("skyserve_x", {"a": "1"}, -0.0)):
        families = gauge(sample)
        series = store.encode(families)
        assert series.exposition(Format.TEXT) == encode_families(Format.TEXT, families)


def test_a_family_that_is_not_plain_lines_is_encoded_whole_in_each_format() -> None:
    created = CounterMetricFamily("skyserve_x_done", "Done.", labels=["service_name"], created=1.0)
    created.add_metric(["a"], 3, created=1_700_000_000.0)
    histogram = HistogramMetricFamily(
        "skyserve_x_seconds", "Seconds.", buckets=[("1.0", 1), ("+Inf", 2)], sum_value=3
    )
    colon = Metric("skyserve:x", "Colon.", "gauge")
    colon.add_sample("skyserve:x", {}, 1.0)
    families = [created, histogram, colon]
    series = SeriesStore().encode(families)
    assert all(isinstance(family, WholeFamily) for family in series.families)
    for fmt in Format:
        assert series.exposition(fmt) == encode_families(fmt, families)


def test_rows_read_as_prometheus_client_samples() -> None:
    families = fleet({"a": 1})
    info = families[1]
    assert isinstance(info, RowFamily)
    assert info.samples == [
        Sample("skyserve_x_info", {"service_name": "a", "replica_id": "0", "note": 'a "b"\n c\r\\'}, 1)
    ]
    events = families[2]
    assert isinstance(events, RowFamily)
    assert (events.name, [s.name for s in events.samples]) == (
        "skyserve_x_events",
        ["skyserve_x_events_total"],
    )
    events.samples = [Sample("skyserve_x_events_total", {"service_name": "z"}, 4.0)]
    assert events.rows == [(("z",), 4.0)]


def test_a_row_with_the_wrong_number_of_labels_is_refused_when_added() -> None:
    out = FamilyBuilder(TABLE, refresh_seconds=None)
    with pytest.raises(ValueError, match="skyserve_x_info takes 3 labels, got 2"):
        out.add("skyserve_x_info", ("a", "1"), 1)


def test_rows_made_at_encoding_are_written_as_rows_added_one_by_one() -> None:
    records = [("a", 2.0), ("b", 1.0), ('q"uote', 3.0)]
    eager, lazy = FamilyBuilder(TABLE, refresh_seconds=5), FamilyBuilder(TABLE, refresh_seconds=5)
    for name, count in records:
        eager.add("skyserve_x_replicas", (name,), count)
    lazy.add("skyserve_x_replicas", ("first",), 9.0)
    lazy.add_rows("skyserve_x_replicas", lambda: (((name,), count) for name, count in records))
    eager_families = eager.families()
    first = Sample("skyserve_x_replicas", {"service_name": "first"}, 9.0)
    eager_families[0].samples = [first, *eager_families[0].samples]
    lazy_families = lazy.families()
    assert lazy_families[0].samples == eager_families[0].samples  # read twice: made again each time
    for fmt in Format:
        expected = encode_families(fmt, eager_families)
        assert SeriesStore().encode(lazy_families).exposition(fmt) == expected
    assert SeriesStore().encode(lazy_families).samples == 4


def test_rows_made_at_encoding_with_the_wrong_labels_fail_the_collection_naming_the_family() -> None:
    for rows in ([(("a", "extra"), 1.0)], [((None,), 1.0)]):
        out = FamilyBuilder(TABLE, refresh_seconds=None)
        out.add_rows("skyserve_x_replicas", lambda rows=rows: rows)  # type: ignore[misc]
        with pytest.raises(ValueError, match="skyserve_x_replicas takes 1 labels"):
            SeriesStore().encode(out.families())


def test_values_are_written_exactly_as_prometheus_client_writes_them() -> None:
    import random  # noqa: PLC0415

    from prometheus_client.utils import floatToGoString  # noqa: PLC0415

    from exporter.series import _value_text  # noqa: PLC0415

    rng = random.Random(15)
    specials: list[float] = [0.0, -0.0, 1.0, -1.0, float("inf"), float("-inf"), float("nan"), 1e22, 1e-7]
    specials += [True, False, 3, -3, 2**60, 10**6, 10**7 - 1, 10**7, 1795826209, 0.1 + 0.2, 5e-324]
    drawn = [rng.uniform(-1e12, 1e12) for _ in range(2000)] + [
        rng.random() * 10 ** rng.randint(-10, 30) for _ in range(2000)
    ]
    drawn += [float(rng.randint(0, 10**12)) for _ in range(2000)]
    for value in [*specials, *drawn]:
        assert _value_text(value) == floatToGoString(value), value  # type: ignore[no-untyped-call]


class _Record:
    """A record a collector keeps unchanged between collections: its identity is the key."""

    def __init__(self, name: str, replicas: int) -> None:
        self.name, self.replicas = name, replicas
        self.reads = 0

    def rows(self) -> list[tuple[tuple[str, str, str], float]]:
        self.reads += 1
        return [((self.name, str(rid), 'a "b"\n c\\'), float(rid)) for rid in range(self.replicas)]


def keyed(records: list[_Record], *, kept: Sequence[tuple[str, str, str]] = ()) -> list[Metric]:
    out = FamilyBuilder(TABLE, refresh_seconds=30)
    for labels in kept:
        out.add("skyserve_x_info", labels, 1)
    for record in records:
        out.add_rows("skyserve_x_info", record.rows, key=record)
    out.add_rows("skyserve_x_info", lambda: [(("unkeyed", "0", ""), 5.0)])
    return out.families()


def _eager(families: list[Metric]) -> bytes:
    return SeriesStore().encode(families).exposition(Format.TEXT)


def test_a_keyed_source_seen_at_the_last_collection_is_not_read_again() -> None:
    store = SeriesStore()
    a, b, c = _Record("a", 3), _Record("b", 2), _Record("c", 4)
    first = store.encode(keyed([a, b, c], kept=[("kept", "1", "")]))
    assert (a.reads, b.reads, c.reads) == (1, 1, 1)
    b_again = _Record("b", 2)  # equal, but another object: not the same key
    families = keyed([c, b_again, a], kept=[("kept", "2", "")])  # reordered, a new kept row
    second = store.encode(families)
    assert (a.reads, c.reads, b_again.reads) == (1, 1, 1)
    assert second.exposition(Format.TEXT) == encode_families(Format.TEXT, families)
    assert second.exposition(Format.TEXT) != first.exposition(Format.TEXT)
    assert second.samples == 1 + 4 + 2 + 3 + 1
    c.replicas = 1  # a key must stand for its rows: changed rows under one key are not read again
    third = store.encode(keyed([c, b_again, a], kept=[("kept", "2", "")]))
    assert third.exposition(Format.TEXT) == second.exposition(Format.TEXT)
    assert third.reused == len(third.families)  # the same body object, gzip members included


def test_a_key_gone_for_one_collection_is_read_again() -> None:
    store = SeriesStore()
    a, b = _Record("a", 2), _Record("b", 2)
    store.encode(keyed([a, b]))
    store.encode(keyed([a]))
    families = keyed([a, b])
    encoded = store.encode(families).exposition(Format.OPENMETRICS)
    assert (a.reads, b.reads) == (1, 2)
    assert encoded == encode_families(Format.OPENMETRICS, families)


def test_keyed_lines_are_not_reused_under_other_label_names() -> None:
    store = SeriesStore()
    a = _Record("a", 2)
    store.encode(keyed([a]))
    labels = ("replica_id", "service_name", "x")
    out = FamilyBuilder(MetricTable((MetricSpec("skyserve_x_info", "gauge", "Info.", labels),)), 30)
    out.add_rows("skyserve_x_info", a.rows, key=a)
    families = out.families()
    encoded = store.encode(families).exposition(Format.TEXT)
    assert a.reads == 2
    assert encoded == _eager(families)

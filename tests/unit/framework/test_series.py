from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.samples import Sample

from exporter.metrics import FamilyBuilder, MetricSpec, MetricTable
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


def test_a_changed_value_re_encodes_only_that_line() -> None:
    store = SeriesStore()
    first = store.encode(fleet({"a": 2, "b": 1}))
    assert first.fresh_lines == first.samples == 7
    unchanged = store.encode(fleet({"a": 2, "b": 1}))
    assert unchanged.fresh_lines == 0
    assert unchanged.exposition(Format.TEXT) == first.exposition(Format.TEXT)
    families = fleet({"a": 2, "b": 1})
    families[2].samples[1] = families[2].samples[1]._replace(value=7.0)  # b's events only
    changed = store.encode(families)
    assert changed.fresh_lines == 1
    assert b'skyserve_x_events_total{service_name="b"} 7.0\n' in changed.exposition(Format.OPENMETRICS)
    assert [_body(f) for f in changed.families if f.name != "skyserve_x_events"] == [
        _body(f) for f in first.families if f.name != "skyserve_x_events"
    ]


def _body(family: EncodedFamily | WholeFamily) -> bytes:
    assert isinstance(family, EncodedFamily)
    return family.body


def test_a_series_whose_value_changes_is_written_as_prometheus_client_writes_it() -> None:
    store = SeriesStore()
    labels = {"service_name": 'a } 1.0 "b"\\', "replica_id": "1 2"}
    for value in (1.0, 2.5, float("nan"), float("inf"), -0.0, 0.0, 1e22, -1e-7, 3, 2**60, float("-inf"), 1.0):
        family = Metric("skyserve_x_cost_dollars", "Cost.", "counter")
        family.add_sample("skyserve_x_cost_dollars_total", labels, value)
        series = store.encode([family])
        for fmt in Format:
            assert series.exposition(fmt) == encode_families(fmt, [family])


def test_only_the_last_collection_is_kept() -> None:
    store = SeriesStore()
    store.encode(fleet({"a": 1}))
    store.encode(fleet({"b": 1}))
    assert store.encode(fleet({"a": 1})).fresh_lines == 3  # a's lines were let go with a


def test_lines_are_keyed_by_everything_they_are_made_of() -> None:
    def gauge(*samples: Sample) -> list[Metric]:
        family = Metric("skyserve_x", "X.", "gauge")
        family.samples = list(samples)
        return [family]

    store = SeriesStore()
    store.encode(gauge(Sample("skyserve_x", {"a": "1"}, 0.0)))
    for sample in (Sample("skyserve_x", {"b": "1"}, 0.0), Sample("skyserve_x", {"a": "1"}, -0.0)):
        families = gauge(sample)
        series = store.encode(families)
        assert series.fresh_lines == 1
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

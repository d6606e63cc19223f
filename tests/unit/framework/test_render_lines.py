from prometheus_client.core import Metric

from exporter.metrics import FamilyBuilder, MetricSpec, MetricTable, SampleReuse
from exporter.render import Format, LineCache, encode_families

TABLE = MetricTable(
    (
        MetricSpec("skyserve_x_replicas", "gauge", 'Help with "quotes" and \\ slash.', ("service_name",)),
        MetricSpec("skyserve_x_info", "gauge", "Info.", ("service_name", "replica_id", "note")),
        MetricSpec("skyserve_x_events_total", "counter", "Events.", ("service_name",)),
        MetricSpec("skyserve_x_empty", "gauge", "Nothing yet.", ("service_name",)),
    )
)


def fleet(ready: dict[str, int], reuse: SampleReuse) -> list[Metric]:
    out = FamilyBuilder(TABLE, refresh_seconds=30, reuse=reuse)
    for service, count in ready.items():
        out.add("skyserve_x_replicas", (service,), count)
        out.add("skyserve_x_events_total", (service,), count * 2)
        for rid in range(count):
            out.add("skyserve_x_info", (service, str(rid), 'a "b"\n c'), 1)
    return out.families()


def test_cached_encoding_is_byte_identical_to_prometheus_client() -> None:
    reuse, cache = SampleReuse(), LineCache()
    for fmt in Format:
        for ready in ({"a": 2, "b": 1}, {"a": 2, "b": 3}, {"b": 3, "c": 1}, {"b": 3, "c": 1}):
            families = fleet(ready, reuse)
            encoded = cache.encode(fmt, families)
            assert b"".join(f.header + f.body for f in encoded) == encode_families(fmt, families)
            for family, original in zip(encoded, families, strict=True):
                assert family.header == encode_families(
                    fmt, [Metric(original.name, original.documentation, original.type)]
                )


def test_unchanged_samples_are_the_same_objects_and_keep_their_lines() -> None:
    reuse, cache = SampleReuse(), LineCache()
    first = fleet({"a": 2, "b": 1}, reuse)
    cache.encode(Format.TEXT, first)
    second = fleet({"a": 2, "b": 5}, reuse)
    assert second[0].samples[0] is first[0].samples[0]  # a's replica count did not change
    assert second[0].samples[1] is not first[0].samples[1]  # b's did
    lines_before = dict(cache._previous[Format.TEXT])
    cache.encode(Format.TEXT, second)
    kept = id(second[0].samples[0])
    assert cache._previous[Format.TEXT][kept][1] is lines_before[kept][1]
    fleet({"b": 5}, reuse)
    encoded = cache.encode(Format.TEXT, fleet({"b": 5}, reuse))
    assert b"".join(f.body for f in encoded).count(b'service_name="a"') == 0
    assert len(cache._previous[Format.TEXT]) == len(reuse._previous)  # gone samples are dropped

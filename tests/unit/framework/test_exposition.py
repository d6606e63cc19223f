import gzip
import logging

import pytest
import requests
from prometheus_client.core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter import gzip_members
from exporter.errors import ErrorKind
from exporter.exposition import ScrapeCache, scrape_body
from exporter.gzip_members import GzipMembers
from exporter.negotiation import accepts_gzip, negotiate
from exporter.runner import run_once
from exporter.series import EncodedFamily, Format, SeriesStore, encode_families
from exporter.snapshot import Snapshot, SnapshotStore
from tests.unit.framework.fakes import FakeClock, FakeCollector

LOG = logging.getLogger("test")


class Other(FakeCollector):
    name = "other"


def two_collector_views(clock: FakeClock) -> SnapshotStore:
    store = SnapshotStore({"fake": (10, 30), "other": (10, 30)})
    store.put(run_once(FakeCollector([{"llama": 3, "mistral": 1}]), clock, LOG))
    failing = Other([requests.ReadTimeout("slow")])
    store.put(run_once(failing, clock, LOG))
    return store


def samples(families: list) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[type-arg]
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def test_text_scrape_joins_self_metrics_and_snapshots(clock: FakeClock) -> None:
    store = two_collector_views(clock)
    body = b"".join(scrape_body(store.view(clock.now), Format.TEXT, gzipped=False)).decode()
    got = samples(list(parse_text(body)))
    assert got[("skyserve_fake_replicas", (("service_name", "llama"),))] == 3
    assert got[("skyserve_exporter_collector_up", (("collector", "fake"),))] == 1
    assert got[("skyserve_exporter_collector_up", (("collector", "other"),))] == 0
    errors = ("skyserve_exporter_collector_errors_total", (("collector", "other"), ("reason", "timeout")))
    assert got[errors] == 1
    zero = ("skyserve_exporter_collector_errors_total", (("collector", "fake"), ("reason", "auth")))
    assert got[zero] == 0
    info = (("api_version", "62"), ("collector", "fake"), ("version", "0.14.1"))
    assert got[("skyserve_exporter_upstream_info", info)] == 1
    assert (
        "skyserve_exporter_collector_last_success_timestamp_seconds",
        (("collector", "other"),),
    ) not in got


def test_openmetrics_scrape_is_one_valid_document_with_one_eof(clock: FakeClock) -> None:
    store = two_collector_views(clock)
    body = b"".join(scrape_body(store.view(clock.now), Format.OPENMETRICS, gzipped=False)).decode()
    assert body.count("# EOF") == 1 and body.endswith("# EOF\n")
    # The strict OpenMetrics parser rejects a misplaced or repeated EOF.
    got = samples(list(parse_openmetrics(body)))  # type: ignore[no-untyped-call]
    assert got[("skyserve_fake_events_total", (("service_name", "mistral"),))] == 1


def test_gzip_members_concatenate_into_the_same_bytes(clock: FakeClock) -> None:
    store = two_collector_views(clock)
    views = store.view(clock.now)
    for fmt in Format:
        plain = b"".join(scrape_body(views, fmt, gzipped=False))
        zipped = b"".join(scrape_body(views, fmt, gzipped=True))
        assert gzip.decompress(zipped) == plain


def test_stale_data_is_no_longer_served(clock: FakeClock) -> None:
    store = two_collector_views(clock)
    clock.now += 31
    body = b"".join(scrape_body(store.view(clock.now), Format.TEXT, gzipped=False)).decode()
    assert "skyserve_fake_replicas{" not in body
    assert 'skyserve_exporter_collector_data_stale{collector="fake"} 1.0' in body


def test_negotiation() -> None:
    prometheus = (
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
        "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    )
    assert negotiate(prometheus) is Format.OPENMETRICS
    assert negotiate("text/plain") is Format.TEXT
    assert negotiate(None) is Format.TEXT
    assert accepts_gzip("gzip, deflate")
    assert not accepts_gzip("identity")
    assert not accepts_gzip("gzip;q=0")


class Second(FakeCollector):
    """Another source emitting the same families, as Kubernetes and bare metal do."""

    name = "second"


def test_a_family_from_several_collectors_appears_once_with_all_samples(clock: FakeClock) -> None:
    store = SnapshotStore({"fake": (10, 30), "second": (10, 30)})
    store.put(run_once(FakeCollector([{"llama": 3}]), clock, LOG))
    store.put(run_once(Second([{"mistral": 2}]), clock, LOG))
    views = store.view(clock.now)
    for fmt in Format:
        body = b"".join(scrape_body(views, fmt, gzipped=False)).decode()
        assert body.count("# TYPE skyserve_fake_replicas gauge") == 1
        parsed = parse_openmetrics(body) if fmt is Format.OPENMETRICS else parse_text(body)  # type: ignore[no-untyped-call]
        got = samples(list(parsed))
        assert got[("skyserve_fake_replicas", (("service_name", "llama"),))] == 3
        assert got[("skyserve_fake_replicas", (("service_name", "mistral"),))] == 2
        zipped = b"".join(scrape_body(views, fmt, gzipped=True))
        assert gzip.decompress(zipped).decode() == body


def test_a_family_from_two_collectors_joins_into_what_prometheus_client_writes_for_one(
    clock: FakeClock,
) -> None:
    first, second = FakeCollector([{"llama": 3}]), Second([{"mistral": 2}])
    store = SnapshotStore({"fake": (10, 30), "second": (10, 30)})
    store.put(run_once(first, clock, LOG))
    store.put(run_once(second, clock, LOG))
    merged = [
        _merged(one, other)
        for one, other in zip(
            first.build({"llama": 3}, 0).families, second.build({"mistral": 2}, 0).families, strict=True
        )
    ]
    for fmt in Format:
        body = b"".join(scrape_body(store.view(clock.now), fmt, gzipped=False))
        assert encode_families(fmt, merged) in body


def _merged(one: Metric, other: Metric) -> Metric:
    family = Metric(one.name, one.documentation, one.type)
    family.samples = [*one.samples, *other.samples]
    return family


def test_a_gzip_member_is_reused_while_its_body_is_unchanged_and_remade_when_it_changes() -> None:
    series, members = SeriesStore(), GzipMembers()
    first = members.of(
        "fake", series.encode(FakeCollector([{}]).build({"llama": 3, "mistral": 1}, 0).families)
    )
    second = members.of(
        "fake", series.encode(FakeCollector([{}]).build({"llama": 3, "mistral": 2}, 0).families)
    )
    families = [
        f for f in (*first.families, *second.families, *second.plain.families) if isinstance(f, EncodedFamily)
    ]
    replicas_before, events_before, replicas_after, events_after, replicas_plain, events_plain = families
    assert events_after.body is events_before.body  # one event a service, unchanged
    assert replicas_after.body is not replicas_before.body
    assert gzip.decompress(replicas_after.body) == replicas_plain.body
    assert gzip.decompress(events_after.body) == events_plain.body
    assert gzip.decompress(replicas_after.header(Format.OPENMETRICS)) == replicas_plain.header(
        Format.OPENMETRICS
    )


def test_gzip_members_are_made_when_a_run_is_stored_while_scrapers_ask_for_gzip(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    compressed: list[bytes] = []
    real = gzip_members.compress

    def counted(data: bytes) -> bytes:
        compressed.append(data)
        return real(data)

    monkeypatch.setattr(gzip_members, "compress", counted)
    members = GzipMembers(clock, memory_seconds=600)
    store = SnapshotStore({"fake": (10, 30)})
    store.on_put(members.stored)
    store.put(run_once(FakeCollector([{"llama": 3}]), clock, LOG))
    assert compressed == []  # nobody asked for gzip
    members.asked()
    store.put(run_once(FakeCollector([{"llama": 4}]), clock, LOG))
    assert b'skyserve_fake_replicas{service_name="llama"} 4.0\n' in compressed
    made = len(compressed)
    zipped = scrape_body(store.view(clock.now), Format.OPENMETRICS, True, members=members)
    assert len(compressed) == made, "the scrape found every family's members ready"
    assert gzip.decompress(b"".join(zipped)) == b"".join(
        scrape_body(store.view(clock.now), Format.OPENMETRICS, False)
    )
    clock.now += 601
    compressed.clear()
    store.put(run_once(FakeCollector([{"llama": 5}]), clock, LOG))
    assert compressed == []  # gzip not asked for lately


def test_scrape_cache_reuses_a_body_until_a_run_is_stored_or_data_turns_stale(clock: FakeClock) -> None:
    store = two_collector_views(clock)
    cache = ScrapeCache(store, GzipMembers())
    first = cache.body(clock.now, Format.OPENMETRICS, gzipped=True)
    assert cache.body(clock.now + 1, Format.OPENMETRICS, gzipped=True) is first
    assert cache.body(clock.now, Format.TEXT, gzipped=False) is not first
    store.put(run_once(FakeCollector([{"llama": 4}]), clock, LOG))
    second = cache.body(clock.now, Format.OPENMETRICS, gzipped=True)
    assert second is not first
    assert b'skyserve_fake_replicas{service_name="llama"} 4.0' in gzip.decompress(b"".join(second))
    # Small parts leave as one chunk: the server writes and awaits each chunk on its own.
    assert len(second) == 1
    assert b"".join(second) == b"".join(
        scrape_body(
            store.view(clock.now), Format.OPENMETRICS, True, store.reload_status, members=GzipMembers()
        )
    )
    stale = cache.body(clock.now + 31, Format.OPENMETRICS, gzipped=True)
    assert b"skyserve_fake_replicas{" not in gzip.decompress(b"".join(stale))


def test_a_collector_that_has_run_but_never_succeeded_is_stale() -> None:
    store = SnapshotStore({"fake": (30, 90)})
    before = b"".join(scrape_body(store.view(1_000.0), Format.TEXT, gzipped=False)).decode()
    assert 'skyserve_exporter_collector_data_stale{collector="fake"} 0.0' in before, "not run yet"
    store.put(Snapshot("fake", ok=False, started_at=1_000.0, duration=0.1, error_kind=ErrorKind.AUTH))
    after = b"".join(scrape_body(store.view(1_001.0), Format.TEXT, gzipped=False)).decode()
    assert 'skyserve_exporter_collector_data_stale{collector="fake"} 1.0' in after

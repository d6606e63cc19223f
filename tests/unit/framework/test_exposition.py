import gzip
import logging

import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.exposition import ScrapeCache, scrape_body
from exporter.render import Format, accepts_gzip, negotiate
from exporter.runner import run_once
from exporter.snapshot import SnapshotStore
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


def test_scrape_cache_reuses_a_body_until_a_run_is_stored_or_data_turns_stale(clock: FakeClock) -> None:
    store = two_collector_views(clock)
    cache = ScrapeCache(store)
    first = cache.body(clock.now, Format.OPENMETRICS, gzipped=True)
    assert cache.body(clock.now + 1, Format.OPENMETRICS, gzipped=True) is first
    assert cache.body(clock.now, Format.TEXT, gzipped=False) is not first
    store.put(run_once(FakeCollector([{"llama": 4}]), clock, LOG))
    second = cache.body(clock.now, Format.OPENMETRICS, gzipped=True)
    assert second is not first
    assert b'skyserve_fake_replicas{service_name="llama"} 4.0' in gzip.decompress(b"".join(second))
    stale = cache.body(clock.now + 31, Format.OPENMETRICS, gzipped=True)
    assert b"skyserve_fake_replicas{" not in gzip.decompress(b"".join(stale))

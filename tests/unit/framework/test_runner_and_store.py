import json
import logging
import threading
import time

import pydantic
import pytest
import requests

from exporter.errors import ErrorKind, UpstreamAuthError, UpstreamParseError, UpstreamUnavailable
from exporter.exposition import scrape_body
from exporter.runner import DeadlineRunner, classify, describe, run_once
from exporter.series import Format
from exporter.snapshot import SnapshotStore
from tests.unit.framework.fakes import FakeClock, FakeCollector, Outcome

LOG = logging.getLogger("test")


def test_successful_run_is_encoded_for_both_formats_and_keeps_no_families() -> None:
    snapshot = run_once(FakeCollector([{"llama": 3}]), FakeClock(), LOG)
    assert snapshot.ok and snapshot.error_kind is None
    assert snapshot.series is not None and snapshot.build is not None
    text = snapshot.series.exposition(Format.TEXT)
    openmetrics = snapshot.series.exposition(Format.OPENMETRICS)
    assert b'skyserve_fake_replicas{service_name="llama"} 3.0' in text
    assert b"# TYPE skyserve_fake_events counter\nskyserve_fake_events_total" in openmetrics
    assert not openmetrics.endswith(b"# EOF\n")
    assert b"Refreshed every 30s." in text
    assert snapshot.build.families == []  # the samples are dead weight once encoded
    assert snapshot.build.upstream == {"version": "0.14.1", "api_version": "62"}


def test_a_runner_reuses_its_last_collections_bodies() -> None:
    runner = DeadlineRunner(
        FakeCollector([{"llama": 3, "mistral": 1}, {"llama": 3, "mistral": 2}]), FakeClock(), LOG
    )
    first, second = runner.run(), runner.run()
    assert first is not None and first.series is not None
    assert second is not None and second.series is not None
    assert (first.series.reused, second.series.reused) == (0, len(second.series.families) - 1)  # mistral's
    assert b'skyserve_fake_replicas{service_name="mistral"} 2.0' in second.series.exposition(Format.TEXT)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (requests.ConnectTimeout("slow"), ErrorKind.TIMEOUT),
        (requests.ReadTimeout("slow"), ErrorKind.TIMEOUT),
        (TimeoutError(), ErrorKind.TIMEOUT),
        (requests.ConnectionError("refused"), ErrorKind.UNAVAILABLE),
        (ConnectionRefusedError(), ErrorKind.UNAVAILABLE),
        (UpstreamAuthError("401"), ErrorKind.AUTH),
        (UpstreamParseError("bad"), ErrorKind.PARSE),
        (json.JSONDecodeError("x", "doc", 0), ErrorKind.PARSE),
        (KeyError("bug"), ErrorKind.OTHER),
    ],
)
def test_failures_are_classified(exc: BaseException, kind: ErrorKind) -> None:
    assert classify(exc) is kind
    snapshot = run_once(FakeCollector([exc]), FakeClock(), LOG)
    assert not snapshot.ok
    assert snapshot.error_kind is kind
    assert snapshot.series is None


def test_validation_errors_are_parse_errors() -> None:
    class Model(pydantic.BaseModel):
        x: int

    with pytest.raises(pydantic.ValidationError) as caught:
        Model.model_validate({"x": "no"})
    assert classify(caught.value) is ErrorKind.PARSE


def test_error_messages_are_redacted_and_bounded() -> None:
    message = describe(RuntimeError("GET http://alice:s3cret@api:46580/x Bearer sky_abc123 " + "y" * 500))
    assert "s3cret" not in message and "sky_abc123" not in message and "alice" not in message
    assert len(message) <= 300


def test_build_failure_is_caught_too() -> None:
    snapshot = run_once(FakeCollector([{"svc": "not-a-number"}]), FakeClock(), LOG)  # type: ignore[dict-item]
    assert not snapshot.ok
    assert snapshot.error_kind is ErrorKind.OTHER


def store_with(clock: FakeClock, interval: float = 10.0) -> SnapshotStore:
    return SnapshotStore({"fake": (interval, 3 * interval)})


def test_failure_keeps_last_good_data_until_stale(clock: FakeClock) -> None:
    store = store_with(clock)
    collector = FakeCollector([{"llama": 3}, requests.ConnectionError("down")])
    store.put(run_once(collector, clock, LOG))
    clock.now += 10
    store.put(run_once(collector, clock, LOG))
    (view,) = store.view(clock.now)
    assert not view.up
    assert view.serving is not None and view.serving.build is not None
    assert view.errors == {ErrorKind.UNAVAILABLE: 1}
    clock.now += 21  # 31 s after the good run: past 3 x 10 s
    (view,) = store.view(clock.now)
    assert view.serving is None
    assert view.last_good is not None and not view.fresh


def test_readiness_waits_for_a_first_run_of_every_collector(clock: FakeClock) -> None:
    store = SnapshotStore({"fake": (10, 30), "other": (10, 30)})
    assert not store.ready()
    store.put(run_once(FakeCollector([RuntimeError("x")]), clock, LOG))
    assert not store.ready()
    other = FakeCollector([{"a": 1}])
    other.name = "other"  # type: ignore[misc]
    store.put(run_once(other, clock, LOG))
    assert store.ready()


def test_skipped_records_accumulate_across_runs(clock: FakeClock) -> None:
    store = store_with(clock)
    collector = FakeCollector([{"bad": 1}])
    store.put(run_once(collector, clock, LOG))
    store.put(run_once(collector, clock, LOG))
    (view,) = store.view(clock.now)
    assert view.skipped == {"invalid_replica": 2}


def test_a_run_past_its_timeout_is_a_timeout_and_is_not_started_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()

    def hang() -> dict[str, int]:
        release.wait(10)  # a collector stuck in I/O that ignores its own timeout
        return {"late": 1}

    collector = FakeCollector([hang, {"llama": 3}], timeout=0.2)
    runner = DeadlineRunner(collector, FakeClock(), LOG)
    store = SnapshotStore({"fake": (1, 3)})
    started = time.monotonic()
    first = runner.run()
    assert first is not None and time.monotonic() - started < 2
    assert (first.ok, first.error_kind) == (False, ErrorKind.TIMEOUT)
    assert "0.2s timeout" in (first.error or "")
    store.put(first)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOG.name):
        for _ in range(3):
            assert runner.run() is None, "the stuck run still holds the collector"
            store.skip_run("fake")
        assert collector.fetches == 1
        assert not caplog.records, "skipped runs are counted, not logged each time"
        release.set()
        deadline = time.monotonic() + 5
        while collector.fetches == 1 and time.monotonic() < deadline:
            resumed = runner.run()
        assert [r.getMessage() for r in caplog.records] == [
            "stuck collection returned; runs resume",
            "collection recovered",
        ]
    assert resumed is not None and resumed.ok
    (view,) = store.view(FakeClock()())
    assert (view.up, view.runs_skipped, view.errors[ErrorKind.TIMEOUT]) == (False, 3, 1)
    text = b"".join(scrape_body([view], Format.TEXT, gzipped=False)).decode()
    assert 'skyserve_exporter_collector_runs_skipped_total{collector="fake"} 3.0' in text


def test_upstream_garbage_too_deep_or_badly_encoded_is_a_parse_failure() -> None:
    assert classify(RecursionError("maximum recursion depth exceeded")) is ErrorKind.PARSE
    assert classify(UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")) is ErrorKind.PARSE


def test_failures_are_logged_once_per_episode(caplog: pytest.LogCaptureFixture) -> None:
    down = UpstreamUnavailable("connection refused")
    outcomes: list[Outcome] = [
        down,
        down,
        down,
        UpstreamAuthError("HTTP 401"),
        {"a": 1},
        {"a": 1},
        down,
        {"a": 1},
    ]
    runner = DeadlineRunner(FakeCollector(outcomes), FakeClock(), LOG)
    with caplog.at_level(logging.INFO, logger=LOG.name):
        results = [runner.run() for _ in range(8)]
    assert [r.ok for r in results if r is not None] == [False] * 4 + [True, True, False, True]
    lines = [
        (r.getMessage(), getattr(r, "reason", None), getattr(r, "failed_runs", None)) for r in caplog.records
    ]
    assert lines == [
        ("collection failed", "unavailable", None),
        ("collection failed", "auth", None),
        ("collection recovered", None, 4),
        ("collection failed", "unavailable", None),
        ("collection recovered", None, 1),
    ]


def test_repeats_within_an_episode_go_to_debug(caplog: pytest.LogCaptureFixture) -> None:
    down = UpstreamUnavailable("connection refused")
    runner = DeadlineRunner(FakeCollector([down, down, down]), FakeClock(), LOG)
    with caplog.at_level(logging.DEBUG, logger=LOG.name):
        for _ in range(3):
            runner.run()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "collection failed"),
        ("DEBUG", "collection failed again"),
        ("DEBUG", "collection failed again"),
    ]


def test_an_unexpected_error_keeps_its_traceback_every_time(caplog: pytest.LogCaptureFixture) -> None:
    runner = DeadlineRunner(FakeCollector([KeyError("bug"), KeyError("bug")]), FakeClock(), LOG)
    with caplog.at_level(logging.INFO, logger=LOG.name):
        runner.run()
        runner.run()
    with_traceback = [r for r in caplog.records if r.exc_info]
    assert len(with_traceback) == 2

"""Ready means every collector has data worth serving; a collector that works on what the others
discover (the probes) is ready only after a run that began once they had all run."""

import logging
import threading
import time
from typing import ClassVar

from exporter.runner import DeadlineRunner
from exporter.scheduler import CollectorJob
from exporter.snapshot import Snapshot, SnapshotStore
from exporter.status import status_document
from tests.unit.framework.fakes import FakeCollector

LOG = logging.getLogger("test.readiness")


def ran(name: str, started_at: float, duration: float = 1.0) -> Snapshot:
    return Snapshot(name, ok=True, started_at=started_at, duration=duration)


def store_with_a_consumer() -> SnapshotStore:
    store = SnapshotStore({})
    store.schedule("skyserve", 30.0, 90.0)
    store.schedule("kubernetes", 30.0, 90.0)
    store.schedule("probes", 15.0, 45.0, after_others=True)
    return store


def waiting(store: SnapshotStore) -> dict[str, str | None]:
    return {view.name: view.waiting_for for view in store.view(2_000.0)}


def test_a_consumer_is_ready_only_after_a_run_that_began_once_the_others_had_run() -> None:
    store = store_with_a_consumer()
    assert waiting(store) == {
        "skyserve": "its first run",
        "kubernetes": "its first run",
        "probes": "the first run of kubernetes, skyserve",
    }
    store.put(ran("probes", 1_000.0))  # an early round: nothing discovered yet
    store.put(ran("skyserve", 1_000.0, duration=3.0))
    assert waiting(store)["probes"] == "the first run of kubernetes"
    store.put(ran("kubernetes", 1_001.0, duration=1.0))
    assert not store.ready()
    assert waiting(store)["probes"] == "a run that covers what the other collectors discovered"
    store.put(ran("probes", 1_004.0))
    assert store.ready()
    assert set(waiting(store).values()) == {None}


def test_failed_first_runs_count_as_runs() -> None:
    store = store_with_a_consumer()
    for name in ("skyserve", "kubernetes"):
        store.put(Snapshot(name, ok=False, started_at=1_000.0, duration=0.5))
    store.put(ran("probes", 1_001.0))
    assert store.ready()


def test_a_collector_that_consumes_nothing_never_waits() -> None:
    store = store_with_a_consumer()
    started = time.monotonic()
    assert store.wait_for_others("skyserve", timeout=5.0)
    assert time.monotonic() - started < 1.0


def test_wait_for_others_returns_when_the_last_one_lands_or_at_the_timeout() -> None:
    store = store_with_a_consumer()
    assert not store.wait_for_others("probes", timeout=0.05)
    store.put(ran("skyserve", 1_000.0))
    threading.Timer(0.1, lambda: store.put(ran("kubernetes", 1_000.0))).start()
    assert store.wait_for_others("probes", timeout=5.0)


def test_removing_the_last_pending_collector_releases_the_wait() -> None:
    store = store_with_a_consumer()
    store.put(ran("skyserve", 1_000.0))
    threading.Timer(0.1, lambda: store.remove("kubernetes")).start()
    assert store.wait_for_others("probes", timeout=5.0)


class Consumer(FakeCollector):
    name: ClassVar[str] = "probes"

    def uses_discovered(self) -> bool:
        return True


def test_the_consumers_first_scheduled_run_waits_for_the_others() -> None:
    store = store_with_a_consumer()
    consumer = Consumer([{"a": 1}], interval=15.0)
    job = CollectorJob(DeadlineRunner(consumer, time.time, LOG), store, LOG, generation=1, first_wait=5.0)
    worker = threading.Thread(target=job)
    worker.start()
    time.sleep(0.2)
    assert consumer.fetches == 0, "held back while the others have not run"
    store.put(ran("skyserve", time.time() - 1.0))
    store.put(ran("kubernetes", time.time() - 1.0))
    worker.join(5.0)
    assert consumer.fetches == 1
    assert store.ready()


def test_the_status_document_says_per_collector_why_not_ready() -> None:
    store = store_with_a_consumer()
    store.put(ran("skyserve", 1_000.0))
    document = status_document(store.view(2_000.0), store.ready(), 2_000.0)
    entries = {entry["name"]: entry for entry in document["collectors"]}
    assert document["ready"] is False
    assert entries["skyserve"]["ready"] is True and entries["skyserve"]["waiting_for"] is None
    assert entries["probes"]["waiting_for"] == "the first run of kubernetes"

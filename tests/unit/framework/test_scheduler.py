import logging
import threading
import time

from exporter.scheduler import CollectorScheduler
from exporter.snapshot import SnapshotStore
from tests.unit.framework.fakes import FakeCollector

LOG = logging.getLogger("test")


def test_first_run_at_start_and_runs_never_overlap() -> None:
    running = 0
    overlaps = 0
    lock = threading.Lock()

    def slow_fetch() -> dict[str, int]:
        nonlocal running, overlaps
        with lock:
            running += 1
            overlaps += running > 1
        time.sleep(0.3)  # longer than the interval: APScheduler must skip, not stack
        with lock:
            running -= 1
        return {"svc": 1}

    collector = FakeCollector([slow_fetch], interval=0.1)
    store = SnapshotStore({"fake": (0.1, 1.0)})
    scheduler = CollectorScheduler(store, time.time, LOG)
    scheduler.add(collector, store.generation(collector.name))
    scheduler.start()
    try:
        deadline = time.monotonic() + 5
        while not store.ready() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert store.ready()
        time.sleep(0.8)
    finally:
        scheduler.shutdown(wait=True)
    assert overlaps == 0
    assert 2 <= collector.fetches <= 6

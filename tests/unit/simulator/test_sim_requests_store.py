"""The simulated API server's request table stays bounded however long a client polls it."""

import pytest

from simulator.requests_store import Outcome, RequestStore, SimRequest, UnknownRequest


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _request(request_id: str, now: float) -> SimRequest:
    return SimRequest(request_id, now, now, None, "user", 1)


def _outcome(now: float, size: int = 10_000) -> Outcome:
    return Outcome("SUCCEEDED", "x" * size, "null", now)


def _poll(store: RequestStore, request_id: str, clock: FakeClock) -> Outcome:
    store.add(_request(request_id, clock.now))
    return store.finish(request_id, lambda: _outcome(clock.now))


def test_finished_requests_are_dropped_after_the_retention() -> None:
    clock = FakeClock()
    store = RequestStore(retention=60.0, clock=clock)
    # A collector polling every 2 s for an hour: one status request per collection.
    for index in range(1_800):
        _poll(store, f"req-{index}", clock)
        clock.now += 2.0
    assert len(store) <= 31
    assert store.result_bytes <= 31 * 10_000


def test_a_request_nobody_polls_is_dropped_too() -> None:
    clock = FakeClock()
    store = RequestStore(retention=60.0, clock=clock)
    for index in range(1_000):
        store.add(_request(f"abandoned-{index}", clock.now))
        clock.now += 2.0
    assert len(store) <= 31


def test_a_retry_within_the_retention_gets_the_first_result() -> None:
    clock = FakeClock()
    store = RequestStore(retention=60.0, clock=clock)
    first = _poll(store, "req", clock)
    clock.now += 30.0
    _poll(store, "other", clock)
    assert store.finish("req", lambda: _outcome(clock.now, size=1)) is first
    clock.now += 61.0
    _poll(store, "later", clock)
    with pytest.raises(UnknownRequest):
        store.find("req")


def test_count_and_bytes_bounds_still_hold_within_the_retention() -> None:
    clock = FakeClock()
    store = RequestStore(max_requests=5, max_result_bytes=25_000, retention=3_600.0, clock=clock)
    for index in range(50):
        _poll(store, f"req-{index}", clock)
    assert len(store) <= 5
    assert store.result_bytes <= 25_000


def test_requests_are_listed_in_the_order_they_were_submitted() -> None:
    clock = FakeClock()
    store = RequestStore(retention=60.0, clock=clock)
    for name in ("serve", "status", "pools"):
        store.add(_request(name, clock.now))
        clock.now += 1.0
    store.finish("status", lambda: _outcome(clock.now))
    assert [request.request_id for request in store.requests()] == ["serve", "status", "pools"]

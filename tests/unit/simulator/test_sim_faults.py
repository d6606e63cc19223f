"""Injected faults, and stopping promptly with requests in flight."""

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from simulator import Fault, Simulator
from tests.unit.simulator.helpers import TIMEOUT, error_of, get, status_round_trip, submit


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(services=2, replicas_per_service=2, seed=1) as running:
        yield running


def test_fault_values() -> None:
    assert [f.value for f in Fault] == [
        "none",
        "slow",
        "hanging",
        "error_500",
        "garbage",
        "auth",
        "offline",
        "trickle",
        "huge",
        "deep",
        "surrogate",
    ]


def test_slow_answers_after_the_delay(sim: Simulator) -> None:
    sim.set_fault(Fault.SLOW, delay=0.4)
    started = time.monotonic()
    assert requests.get(f"{sim.url}/api/health", timeout=TIMEOUT).status_code == 200
    assert time.monotonic() - started >= 0.35


def test_slow_trips_a_client_timeout(sim: Simulator) -> None:
    sim.set_fault(Fault.SLOW, delay=3)
    with pytest.raises(requests.Timeout):
        requests.get(f"{sim.url}/api/health", timeout=0.3)


def test_hanging_holds_until_cleared(sim: Simulator) -> None:
    sim.set_fault(Fault.HANGING)
    with pytest.raises(requests.Timeout):
        requests.get(f"{sim.url}/api/health", timeout=0.3)
    result: list[int] = []
    waiter = threading.Thread(
        target=lambda: result.append(requests.get(f"{sim.url}/api/health", timeout=TIMEOUT).status_code)
    )
    waiter.start()
    time.sleep(0.2)
    assert not result
    sim.set_fault(Fault.NONE)
    waiter.join(TIMEOUT)
    assert result == [200]


def test_error_500_fails_the_request_with_skypilot_error_json(sim: Simulator) -> None:
    request_id = submit(sim).headers["X-Skypilot-Request-ID"]
    sim.set_fault(Fault.ERROR_500)
    response = get(sim, request_id)
    assert response.status_code == 500
    assert response.json()["detail"]["status"] == "FAILED"
    assert error_of(response)["type"] == "RuntimeError"
    sim.set_fault(Fault.NONE)
    assert get(sim, request_id).status_code == 200


def test_garbage_is_200_with_a_body_that_is_not_json(sim: Simulator) -> None:
    sim.set_fault(Fault.GARBAGE)
    response = status_round_trip(sim)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_auth_fault_is_401_except_health(sim: Simulator) -> None:
    sim.set_fault(Fault.AUTH)
    response = submit(sim)
    assert response.status_code == 401
    assert "detail" in response.json()
    assert requests.get(f"{sim.url}/api/health", timeout=TIMEOUT).status_code == 200


def test_stop_returns_quickly_with_a_hanging_request() -> None:
    sim = Simulator(services=1, replicas_per_service=1).start()
    sim.set_fault(Fault.HANGING)
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(requests.get(f"{sim.url}/api/health", timeout=TIMEOUT).status_code)
        except requests.RequestException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.3)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 1.5
    caller.join(TIMEOUT)
    assert outcome and outcome[0] != 200


def test_stop_returns_quickly_during_a_long_poll() -> None:
    sim = Simulator(services=1, replicas_per_service=1, request_delay=60).start()
    request_id = submit(sim).headers["X-Skypilot-Request-ID"]
    caller = threading.Thread(target=lambda: _ignore_errors(lambda: get(sim, request_id)))
    caller.start()
    time.sleep(0.3)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 1.5
    caller.join(TIMEOUT)


def _ignore_errors(call: Callable[[], object]) -> None:
    with contextlib.suppress(requests.RequestException):
        call()


def test_ticker_steps_the_fleet() -> None:
    with Simulator(services=1, replicas_per_service=2, tick_seconds=0.05) as sim:
        start = sim.fleet.now
        deadline = time.monotonic() + TIMEOUT
        while sim.fleet.now == start and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sim.fleet.now > start

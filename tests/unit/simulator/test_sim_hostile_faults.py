"""The hostile-upstream faults: a trickled, a huge, a deeply nested and an unencodable answer."""

import json
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from simulator import Fault, Simulator
from simulator.hostile import (
    DEEP_NESTING,
    HUGE_BODY_BYTES,
    LONE_SURROGATE_NAME,
    deep_json,
    huge_json,
    trickle,
    with_lone_surrogate,
)
from tests.unit.simulator.helpers import NEW_CLIENT, TIMEOUT, get, services_of, status_round_trip, submit


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(services=3, replicas_per_service=2, seed=1) as running:
        yield running


def stream_get(sim: Simulator, request_id: str) -> requests.Response:
    return requests.get(
        f"{sim.url}/api/get",
        params={"request_id": request_id},
        headers=NEW_CLIENT,
        timeout=TIMEOUT,
        stream=True,
    )


def test_trickle_sends_a_byte_per_delay_until_cleared(sim: Simulator) -> None:
    request_id = submit(sim).headers["X-Skypilot-Request-ID"]
    sim.set_fault(Fault.TRICKLE, delay=0.2)
    started = time.monotonic()
    response = stream_get(sim, request_id)
    assert response.status_code == 200
    assert time.monotonic() - started < 1.0, "the status line and headers must come at once"
    received = b"".join(response.raw.read(1) for _ in range(6))
    assert received == b'{"requ'
    assert time.monotonic() - started >= 0.9  # five pauses of 0.2 s after the first byte
    sim.set_fault(Fault.NONE)
    rest = response.raw.read()
    payload = json.loads(received + rest)
    assert payload["status"] == "SUCCEEDED"
    assert [s["name"] for s in json.loads(payload["return_value"])] == [
        s["name"] for s in sim.fleet.services()
    ]


def test_trickle_defaults_to_a_byte_a_second(sim: Simulator) -> None:
    request_id = submit(sim).headers["X-Skypilot-Request-ID"]
    sim.set_fault(Fault.TRICKLE)
    response = stream_get(sim, request_id)
    started = time.monotonic()
    response.raw.read(1)
    response.raw.read(1)
    assert 0.7 <= time.monotonic() - started < 3
    sim.set_fault(Fault.NONE)
    response.close()


def test_trickle_outlasts_a_per_read_timeout(sim: Simulator) -> None:
    """Each byte arrives within the read timeout, so only a deadline on the whole answer helps."""
    request_id = submit(sim).headers["X-Skypilot-Request-ID"]
    sim.set_fault(Fault.TRICKLE, delay=0.05)
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(requests.get(f"{sim.url}/api/get", params={"request_id": request_id}, timeout=0.5))
        except requests.RequestException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    caller.join(1.5)
    assert caller.is_alive() and not outcome, "a 0.5 s read timeout should not have ended a 0.05 s trickle"
    sim.set_fault(Fault.NONE)
    caller.join(TIMEOUT)
    (answer,) = outcome
    assert isinstance(answer, requests.Response) and answer.json()["status"] == "SUCCEEDED"


def test_trickle_sends_the_rest_when_released_or_past_its_cap() -> None:
    released = threading.Event()
    pieces = trickle(b"abcdef", 10.0, released)
    assert next(pieces) == b"a"
    released.set()
    assert list(pieces) == [b"bcdef"]
    started = time.monotonic()
    assert list(trickle(b"abcdef", 10.0, threading.Event(), cap_seconds=0.1)) == [b"a", b"bcdef"]
    assert time.monotonic() - started < 1


def test_stop_returns_quickly_during_a_trickle() -> None:
    sim = Simulator(services=1, replicas_per_service=1).start()
    request_id = submit(sim).headers["X-Skypilot-Request-ID"]
    sim.set_fault(Fault.TRICKLE)
    response = stream_get(sim, request_id)
    response.raw.read(1)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 1.5
    response.close()


def test_huge_is_a_valid_answer_of_the_given_size() -> None:
    payload = {"status": "SUCCEEDED", "return_value": json.dumps([{"name": "a"}, {"name": "b"}]), "pid": 1}
    pieces = list(huge_json(payload, 3 * 2**20))
    body = b"".join(pieces)
    assert 3 * 2**20 <= len(body) < 3 * 2**20 + 100
    assert max(len(piece) for piece in pieces) <= 2**20
    decoded = json.loads(body)
    assert decoded["status"] == "SUCCEEDED" and decoded["pid"] == 1
    services = json.loads(decoded["return_value"])
    assert [s["name"] for s in services] == ["a", "b"]
    assert set(services[-1]["filler"]) == {"x"}


def test_huge_streams_200_mb_without_a_content_length(sim: Simulator) -> None:
    request_id = submit(sim).headers["X-Skypilot-Request-ID"]
    sim.set_fault(Fault.HUGE)
    response = stream_get(sim, request_id)
    assert response.status_code == 200
    assert "Content-Length" not in response.headers  # chunked: a reader must count, not trust a header
    size = 0
    first = b""
    last = b""
    for piece in response.iter_content(2**20):
        first = first or piece
        last = piece
        size += len(piece)
    assert HUGE_BODY_BYTES <= size < HUGE_BODY_BYTES + 100_000
    assert first.startswith(b'{"request_id": ') and b'"return_value": "[{' in first
    assert last.endswith(b"}")
    assert b'"error": "null"' in last


def test_deep_is_100000_nested_arrays(sim: Simulator) -> None:
    sim.set_fault(Fault.DEEP)
    response = status_round_trip(sim)
    assert response.status_code == 200
    assert response.content == deep_json()
    assert len(response.content) == 2 * DEEP_NESTING
    assert response.content.startswith(b"[[[[") and response.content.endswith(b"]]]]")
    with pytest.raises(RecursionError):
        json.loads(response.content)


def test_surrogate_escapes_a_lone_surrogate_at_the_inner_level(sim: Simulator) -> None:
    names = [s["name"] for s in sim.fleet.services()]
    sim.set_fault(Fault.SURROGATE)
    response = status_round_trip(sim)
    assert response.status_code == 200
    # The outer JSON escapes the backslash of the inner one: \\ud800 on the wire, \ud800 inside.
    assert b"\\\\ud800" in response.content
    return_value = response.json()["return_value"]
    assert "\\ud800" in return_value and "\ud800" not in return_value
    services = services_of(response)
    assert services[0]["name"] == LONE_SURROGATE_NAME
    with pytest.raises(UnicodeEncodeError):
        services[0]["name"].encode("utf-8")
    assert [s["name"] for s in services[1:]] == names[1:]


def test_surrogate_leaves_the_rest_of_the_answer_alone(sim: Simulator) -> None:
    healthy = services_of(status_round_trip(sim))
    sim.set_fault(Fault.SURROGATE)
    hostile = services_of(status_round_trip(sim))
    assert hostile[1:] == healthy[1:]
    assert {**hostile[0], "name": healthy[0]["name"]} == healthy[0]
    assert with_lone_surrogate("[]") == "[]"


def test_hostile_faults_leave_health_and_submit_alone(sim: Simulator) -> None:
    for fault in (Fault.TRICKLE, Fault.HUGE, Fault.DEEP, Fault.SURROGATE):
        sim.set_fault(fault)
        assert requests.get(f"{sim.url}/api/health", timeout=TIMEOUT).status_code == 200
        assert submit(sim).status_code == 200
    sim.set_fault(Fault.NONE)
    request_id = submit(sim).headers["X-Skypilot-Request-ID"]
    assert get(sim, request_id).json()["status"] == "SUCCEEDED"

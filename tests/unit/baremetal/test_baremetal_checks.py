"""Single checks and the concurrent runner, against real loopback servers."""

import time

import pytest
import requests

from collectors.baremetal.checks import LATE, Checker, CheckResult, Outcome, run_budget
from collectors.baremetal.nodes import Target
from tests.unit.baremetal.helpers import HOST, NodeServer, hanging_listener, refused_port


def _checker(timeout: float = 2.0, concurrency: int = 16) -> Checker:
    return Checker(timeout, concurrency, requests.Session)


def _http(port: int, path: str = "/health") -> Target:
    return Target(HOST, port, path)


def _check(target: Target, timeout: float = 2.0) -> CheckResult:
    return _checker(timeout).check(target)


def test_a_healthy_node_passes() -> None:
    with NodeServer(200) as server:
        result = _check(_http(server.port))
    assert (result.outcome, result.detail) == (Outcome.OK, "HTTP 200")
    assert server.paths == ["/health"]


@pytest.mark.parametrize("status", [500, 503, 404])
def test_an_error_status_is_an_answer_that_fails(status: int) -> None:
    with NodeServer(status) as server:
        result = _check(_http(server.port))
    assert (result.outcome, result.detail) == (Outcome.FAILED, f"HTTP {status}")


def test_a_node_slower_than_the_timeout_fails_within_about_the_timeout() -> None:
    with NodeServer(200, delay=30) as server:
        result = _check(_http(server.port), timeout=0.3)
    assert (result.outcome, result.detail) == (Outcome.FAILED, "no answer in time")
    assert result.seconds < 2.0


def test_a_refused_connection_is_unreachable() -> None:
    result = _check(_http(refused_port()))
    assert (result.outcome, result.detail) == (Outcome.UNREACHABLE, "connection refused")


def test_tcp_checks_connect_only() -> None:
    with NodeServer(500) as server:
        assert _check(Target(HOST, server.port)).outcome is Outcome.OK
        assert server.paths == []  # nothing was sent
    refused = _check(Target(HOST, refused_port()))
    assert (refused.outcome, refused.detail) == (Outcome.UNREACHABLE, "connection refused")


def test_redirects_are_not_followed_to_another_address() -> None:
    with NodeServer(200) as elsewhere:
        with NodeServer(302, headers={"Location": elsewhere.url("/")}) as server:
            result = _check(_http(server.port))
        assert elsewhere.paths == []
    assert (result.outcome, result.detail) == (Outcome.FAILED, "HTTP 302")


def test_a_proxy_from_the_environment_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    unused = f"http://{HOST}:{refused_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, unused)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with NodeServer(200) as server:
        assert _check(_http(server.port)).outcome is Outcome.OK


def test_each_distinct_target_is_checked_once_per_run() -> None:
    with NodeServer(200) as server:
        target = _http(server.port)
        run = _checker().run([target, target, Target(HOST, server.port)], budget=5.0)
    assert server.paths == ["/health"]
    assert set(run.results) == {target, Target(HOST, server.port)}
    assert run.late == 0


def test_hanging_nodes_are_checked_side_by_side() -> None:
    with hanging_listener() as port, NodeServer(200) as healthy:
        hanging = [_http(port, f"/node/{i}") for i in range(20)]
        started = time.monotonic()
        run = _checker(timeout=0.5, concurrency=64).run([*hanging, _http(healthy.port)], budget=10.0)
        elapsed = time.monotonic() - started
    assert elapsed < 5.0  # 20 x 0.5 s one after the other would be 10 s
    assert all(run.results[target].outcome is Outcome.FAILED for target in hanging)
    assert run.results[_http(healthy.port)].ok


def test_checks_still_running_at_the_deadline_are_cut_off() -> None:
    with hanging_listener() as port:
        targets = [_http(port, f"/node/{i}") for i in range(10)]
        started = time.monotonic()
        run = _checker(timeout=0.5, concurrency=1).run(targets, budget=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < 3.0  # one after the other they would need 5 s
    assert run.late >= 5
    late = [result for result in run.results.values() if result.detail == LATE]
    assert len(late) == run.late
    assert all(result.outcome is Outcome.UNREACHABLE for result in late)


def test_no_targets_no_threads() -> None:
    run = _checker().run([], budget=1.0)
    assert (dict(run.results), run.late) == ({}, 0)


@pytest.mark.parametrize(
    ("checks", "timeout", "concurrency", "interval", "budget"),
    [
        (20, 0.5, 64, 30.0, 1.5),  # one wave
        (130, 5.0, 64, 60.0, 16.0),  # three waves
        (500, 5.0, 64, 30.0, 27.0),  # capped below the interval
        (10, 5.0, 1, 6.0, 5.4),  # capped, but never below one timeout's worth
        (10, 5.0, 1, 5.2, 5.0),
    ],
)
def test_run_budget(checks: int, timeout: float, concurrency: int, interval: float, budget: float) -> None:
    assert run_budget(checks, timeout, concurrency, interval) == pytest.approx(budget)

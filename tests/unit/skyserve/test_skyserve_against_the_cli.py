"""The SkyServe collector against the simulator, next to what ``sky serve status`` says of the same
server: an API server without internet, with no controller, a STOPPED one or a live one.

The CLI's verdict comes from SkyPilot 0.14.1's own ``_handle_services_request`` (``sky serve
status``), run against the same simulator: "No live services." must be a successful run with no
services, and an error must be a failed run carrying the server's message.
"""

import logging
import time
from collections.abc import Iterator

import pytest
import requests
from sky.client.cli import command
from sky.serve.client import sdk as serve_sdk

from collectors.skyserve.collector import CONTROLLER_STATUS_FAILED, SkyServeCollector
from exporter.collector import CollectorContext
from exporter.errors import ErrorKind
from exporter.runner import run_once
from exporter.series import Format
from exporter.snapshot import Snapshot
from simulator import ControllerState, Fault, Simulator
from tests.unit.sky_client import pointed_at
from tests.unit.skyserve.helpers import samples

CONTROLLER = "sky-serve-controller-7f3e9a1c"
NETWORK_ERROR = "RuntimeError: Failed to refresh services status due to network error."
LOGGER = logging.getLogger("tests.skyserve.against_the_cli")


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    with (
        Simulator(services=2, replicas_per_service=2, seed=3) as running,
        pointed_at(running.url, tmp_path_factory.mktemp("home")),
    ):
        yield running


@pytest.fixture(autouse=True)
def healthy(sim: Simulator) -> Iterator[None]:
    yield
    sim.set_fault(Fault.NONE)
    sim.set_controller(ControllerState.UP)


def _run(sim: Simulator) -> Snapshot:
    context = CollectorContext(requests.Session, time.time, LOGGER, {})
    return run_once(SkyServeCollector.from_config({"endpoint": sim.url}, context), time.time, LOGGER)


def _cli(sim: Simulator) -> str:
    """What ``sky serve status`` prints for no services, or the message of the error it raises."""
    try:
        count, message = command._handle_services_request(serve_sdk.status(None), None, False, False)
    except RuntimeError as exc:
        return f"error: {exc}"
    return message if count is None else f"{count} services"


def _exported(snapshot: Snapshot) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    assert snapshot.series is not None
    return samples(snapshot.series.exposition(Format.TEXT).decode())


def _controller_statuses(snapshot: Snapshot) -> dict[str, float]:
    return {
        dict(labels)["status"]: found
        for (name, labels), found in _exported(snapshot).items()
        if name == "skyserve_controller_status" and dict(labels)["controller"] == CONTROLLER
    }


def _service_count(snapshot: Snapshot) -> int:
    return sum(1 for name, _ in _exported(snapshot) if name == "skyserve_service_info")


def test_offline_without_a_controller_is_no_services_for_both(sim: Simulator) -> None:
    sim.set_controller(ControllerState.ABSENT)
    sim.set_fault(Fault.OFFLINE)
    assert _cli(sim) == "No live services."
    snapshot = _run(sim)
    assert snapshot.ok, snapshot.error
    assert _service_count(snapshot) == 0
    assert _controller_statuses(snapshot) == {}


def test_offline_with_a_stopped_controller_is_no_services_and_shows_it_stopped(sim: Simulator) -> None:
    sim.set_controller(ControllerState.STOPPED)
    sim.set_fault(Fault.OFFLINE)
    assert _cli(sim) == "No live services."
    snapshot = _run(sim)
    assert snapshot.ok, snapshot.error
    assert _service_count(snapshot) == 0
    assert _controller_statuses(snapshot) == {
        "INIT": 0,
        "UP": 0,
        "STOPPED": 1,
        "AUTOSTOPPING": 0,
        "PENDING": 0,
    }


@pytest.mark.parametrize("state", [ControllerState.UP, ControllerState.INIT])
def test_offline_with_a_live_controller_fails_for_both_with_the_servers_message(
    sim: Simulator, state: ControllerState
) -> None:
    sim.set_controller(state)
    sim.set_fault(Fault.OFFLINE)
    assert _cli(sim).startswith("error: Failed to fetch service statuses due to connection issues.")
    snapshot = _run(sim)
    assert not snapshot.ok
    assert snapshot.error_kind is ErrorKind.UNAVAILABLE
    assert snapshot.error == (
        f"serve.status failed on the API server: {NETWORK_ERROR} "
        f"(serve controller {CONTROLLER} is {state.value})"
    )


def test_a_stopped_controller_online_is_no_services_for_both(sim: Simulator) -> None:
    sim.set_controller(ControllerState.STOPPED)
    assert _cli(sim).startswith("No live services.")
    snapshot = _run(sim)
    assert snapshot.ok, snapshot.error
    assert _service_count(snapshot) == 0
    assert _controller_statuses(snapshot)["STOPPED"] == 1


def test_an_up_controller_is_exported_beside_the_services(sim: Simulator) -> None:
    assert _cli(sim) == "2 services"
    snapshot = _run(sim)
    assert snapshot.ok, snapshot.error
    assert _service_count(snapshot) == 2
    assert _controller_statuses(snapshot)["UP"] == 1
    assert snapshot.build is not None and CONTROLLER_STATUS_FAILED not in snapshot.build.skipped


def test_when_nothing_answers_the_failure_says_the_controller_is_unknown(sim: Simulator) -> None:
    """ERROR_500 fails status too: the CLI then keeps the original error, and so does the exporter."""
    sim.set_fault(Fault.ERROR_500)
    assert _cli(sim).startswith("error: Failed to fetch service statuses due to connection issues.")
    snapshot = _run(sim)
    assert snapshot.error_kind is ErrorKind.UNAVAILABLE
    assert snapshot.error is not None
    assert NETWORK_ERROR in snapshot.error
    assert "the serve controller's status is unknown: status failed on the API server" in snapshot.error

"""The simulator's answers as SkyPilot 0.14.1's own SDK and CLI read them.

``sky.client.sdk.get`` decodes a payload by its request name (``sky.serve.status``, ``sky.status``)
and rebuilds the server's exception from its pickle; ``sdk.status`` and ``serve.sdk.status`` send
the SDK's own bodies, and ``_handle_services_request`` is what ``sky serve status`` runs. If any of
them fails on an answer, that answer is not what a real server sends.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sky import exceptions
from sky.client import sdk
from sky.client.cli import command
from sky.schemas.api.responses import StatusResponse
from sky.serve import serve_state
from sky.serve.client import sdk as serve_sdk
from sky.server.common import RequestId
from sky.utils import status_lib

from simulator import ControllerState, Fault, Simulator
from tests.unit.simulator.helpers import NEW_CLIENT, TIMEOUT
from tests.unit.sky_client import pointed_at

CONTROLLER = "sky-serve-controller-7f3e9a1c"
NETWORK_ERROR = "Failed to refresh services status due to network error."


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    with (
        Simulator(services=2, replicas_per_service=3, seed=4) as running,
        pointed_at(running.url, tmp_path_factory.mktemp("home")),
    ):
        yield running


@pytest.fixture(autouse=True)
def healthy(sim: Simulator) -> Iterator[None]:
    sim.set_fault(Fault.NONE)
    sim.set_controller(ControllerState.UP)
    yield
    sim.set_fault(Fault.NONE)
    sim.set_controller(ControllerState.UP)


def test_serve_status_decodes_into_the_sdks_records(sim: Simulator) -> None:
    services = sdk.get(serve_sdk.status(None))
    assert [s["name"] for s in services] == [s["name"] for s in sim.fleet.services()]
    for service in services:
        assert isinstance(service["status"], serve_state.ServiceStatus)
        for replica in service["replica_info"]:
            assert isinstance(replica["status"], serve_state.ReplicaStatus)
            assert replica["handle"] is None


def test_the_clis_controller_question_decodes_into_status_responses(sim: Simulator) -> None:
    """``sdk.status(cluster_names=[prefix + "*"], all_users=True)``: the CLI's call, its body and all."""
    (record,) = sdk.get(sdk.status(cluster_names=["sky-serve-controller-*"], all_users=True))
    assert (record.name, record.status) == (CONTROLLER, status_lib.ClusterStatus.UP)
    assert (record.cloud, record.region, record.nodes) == ("AWS", "us-east-1", 1)
    assert record.resources_str_full == "1x(cpus=4, mem=16, m6i.xlarge, disk=256, ports=['30001-30020'])"
    assert record.handle is not None  # the SDK asks for it (include_handle defaults on) and unpickles it


def test_the_exporters_controller_question_decodes_too(sim: Simulator) -> None:
    body = {
        "cluster_names": ["sky-serve-controller-*"],
        "all_users": True,
        "refresh": "NONE",
        "include_credentials": False,
        "summary_response": True,
        "include_handle": False,
    }
    posted = requests.post(f"{sim.url}/status", json=body, headers=NEW_CLIENT, timeout=TIMEOUT)
    (record,) = sdk.get(RequestId[list[StatusResponse]](posted.headers["X-Skypilot-Request-ID"]))
    assert (record.name, record.status) == (CONTROLLER, status_lib.ClusterStatus.UP)
    assert record.handle is None and record.credentials is None and record.last_creation_yaml is None


@pytest.mark.parametrize(
    "state", [ControllerState.STOPPED, ControllerState.INIT, ControllerState.AUTOSTOPPING]
)
def test_every_controller_state_is_a_cluster_status(sim: Simulator, state: ControllerState) -> None:
    sim.set_controller(state)
    (record,) = sdk.get(sdk.status(cluster_names=["sky-serve-controller-*"], all_users=True))
    assert record.status == status_lib.ClusterStatus(state.value)


def test_no_controller_raises_the_sdks_cluster_not_up_error(sim: Simulator) -> None:
    sim.set_controller(ControllerState.ABSENT)
    with pytest.raises(exceptions.ClusterNotUpError) as raised:
        sdk.get(serve_sdk.status(None))
    assert str(raised.value) == "No live services."
    assert raised.value.cluster_status is None


def test_offline_raises_the_servers_runtime_error(sim: Simulator) -> None:
    sim.set_fault(Fault.OFFLINE)
    with pytest.raises(RuntimeError, match="Failed to refresh services status due to network error"):
        sdk.get(serve_sdk.status(None))


@pytest.mark.parametrize("state", [ControllerState.ABSENT, ControllerState.STOPPED])
def test_sky_serve_status_offline_without_a_live_controller_says_no_live_services(
    sim: Simulator, state: ControllerState
) -> None:
    sim.set_controller(state)
    sim.set_fault(Fault.OFFLINE)
    count, message = command._handle_services_request(serve_sdk.status(None), None, False, False)
    assert (count, message) == (None, "No live services.")


def test_sky_serve_status_offline_with_an_up_controller_fails(sim: Simulator) -> None:
    sim.set_fault(Fault.OFFLINE)
    with pytest.raises(RuntimeError, match="Failed to fetch service statuses due to connection issues"):
        command._handle_services_request(serve_sdk.status(None), None, False, False)


def test_pointing_the_sdk_is_undone(tmp_path: Path) -> None:
    """The endpoint is cached process-wide; ``pointed_at`` must not leave the next test's behind."""
    with Simulator(services=1, replicas_per_service=1) as other, pointed_at(other.url, tmp_path):
        assert sdk.get(serve_sdk.status(None))[0]["name"] == other.fleet.services()[0]["name"]

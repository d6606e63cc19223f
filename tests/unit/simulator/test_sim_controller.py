"""``POST /status`` and the serve controller's state, over real HTTP on loopback.

What the official SDK and CLI make of these answers is in ``test_sim_against_sdk.py``.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from simulator import ControllerState, Fault, Simulator
from simulator.controller import CREATION_YAML_SECRET, PRIVATE_KEY_MARK, SIMULATED_HANDLE
from tests.unit.simulator.helpers import NEW_CLIENT, TIMEOUT, error_of, get, services_of, status_round_trip

CONTROLLER = "sky-serve-controller-7f3e9a1c"
# What the exporter sends (collectors/skyserve/client.py), spelled out so this test pins it.
EXPORTER_BODY = {
    "cluster_names": ["sky-serve-controller-*"],
    "all_users": True,
    "refresh": "NONE",
    "include_credentials": False,
    "summary_response": True,
    "include_handle": False,
}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(services=2, replicas_per_service=2, seed=1) as running:
        yield running


def _ask(sim: Simulator, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(f"{sim.url}/status", json=body, headers=headers or NEW_CLIENT, timeout=TIMEOUT)


def _clusters(sim: Simulator, body: Any = EXPORTER_BODY, headers: dict[str, str] | None = None) -> Any:
    posted = _ask(sim, body, headers)
    assert posted.status_code == 200, posted.text
    answer = get(sim, posted.headers["X-Skypilot-Request-ID"], headers=headers)
    assert answer.status_code == 200, answer.text
    payload = answer.json()
    assert (payload["name"], payload["status"], payload["cluster_name"]) == ("sky.status", "SUCCEEDED", None)
    return json.loads(payload["return_value"])


def test_the_exporters_question_gets_the_controller_without_secrets(sim: Simulator) -> None:
    (record,) = _clusters(sim)
    assert list(record) == [
        "name",
        "launched_at",
        "status",
        "autostop",
        "to_down",
        "cluster_hash",
        "cluster_ever_up",
        "user_hash",
        "user_name",
        "workspace",
        "is_managed",
        "resources_str",
        "resources_str_full",
        "nodes",
        "cloud",
        "region",
        "cpus",
        "memory",
        "labels",
        "priority",
        "last_use",
        "status_updated_at",
        "handle",
        "storage_mounts_metadata",
    ]
    assert (record["name"], record["status"], record["cloud"], record["region"]) == (
        CONTROLLER,
        "UP",
        "AWS",
        "us-east-1",
    )
    assert record["resources_str_full"] == "1x(cpus=4, mem=16, m6i.xlarge, disk=256, ports=['30001-30020'])"
    assert record["launched_at"] < sim.fleet.now
    assert record["handle"] == "gAROLg=="  # pickle of None: include_handle was off


def test_the_servers_defaults_would_send_the_key_the_creation_yaml_and_the_handle(sim: Simulator) -> None:
    """StatusBody's server-side defaults: include_credentials and include_handle on, full records."""
    (record,) = _clusters(sim, {"cluster_names": ["sky-serve-controller-*"]})
    assert PRIVATE_KEY_MARK in record["credentials"]["ssh_private_key_content"]
    assert CREATION_YAML_SECRET in record["last_creation_yaml"]
    assert record["handle"] == SIMULATED_HANDLE
    assert record["cluster_name_on_cloud"].startswith(CONTROLLER)


def test_an_empty_body_asks_for_every_cluster(sim: Simulator) -> None:
    posted = requests.post(f"{sim.url}/status", headers=NEW_CLIENT, timeout=TIMEOUT)
    assert posted.status_code == 200
    payload = get(sim, posted.headers["X-Skypilot-Request-ID"]).json()
    assert [r["name"] for r in json.loads(payload["return_value"])] == [CONTROLLER]


@pytest.mark.parametrize(
    ("names", "found"),
    [
        (["sky-serve-controller-*"], True),
        (["sky-serve-controller-7f3e9a1?"], True),
        ([CONTROLLER], True),
        (["SKY-SERVE-CONTROLLER-*"], False),  # GLOB is case-sensitive
        (["sky-jobs-controller-*"], False),
        (["sky-serve-controller-"], False),  # no wildcard: the exact name only
    ],
)
def test_cluster_names_are_globs(sim: Simulator, names: list[str], found: bool) -> None:
    records = _clusters(sim, {**EXPORTER_BODY, "cluster_names": names})
    assert [r["name"] for r in records] == ([CONTROLLER] if found else [])


def test_the_controller_is_the_servers_user_s_so_only_all_users_sees_it() -> None:
    token = "sky_controller_test_token"
    with Simulator(services=1, replicas_per_service=1, token=token) as sim:
        caller = {**NEW_CLIENT, "Authorization": f"Bearer {token}"}
        assert _clusters(sim, {**EXPORTER_BODY, "all_users": False}, caller) == []
        assert [r["name"] for r in _clusters(sim, EXPORTER_BODY, caller)] == [CONTROLLER]


@pytest.mark.parametrize(
    ("state", "serve_status"),
    [
        (ControllerState.ABSENT, None),
        (ControllerState.STOPPED, "STOPPED"),
        (ControllerState.INIT, "INIT"),
        (ControllerState.AUTOSTOPPING, "AUTOSTOPPING"),
        (ControllerState.UP, "UP"),
    ],
)
def test_controller_state_is_what_status_reports(
    sim: Simulator, state: ControllerState, serve_status: str | None
) -> None:
    sim.set_controller(state)
    assert sim.controller is state
    records = _clusters(sim)
    assert [r["status"] for r in records] == ([] if serve_status is None else [serve_status])
    if state is ControllerState.INIT:
        assert records[0]["init_kind"] == "launching"


def test_autostopping_reads_init_for_clients_before_api_version_29(sim: Simulator) -> None:
    sim.set_controller(ControllerState.AUTOSTOPPING)
    old = {"X-SkyPilot-API-Version": "28", "X-SkyPilot-Version": "0.10.3"}
    assert [r["status"] for r in _clusters(sim, EXPORTER_BODY, old)] == ["INIT"]
    assert [r["status"] for r in _clusters(sim)] == ["AUTOSTOPPING"]


@pytest.mark.parametrize("state", [ControllerState.ABSENT, ControllerState.STOPPED])
def test_serve_status_without_an_accessible_controller_is_no_live_services(
    sim: Simulator, state: ControllerState
) -> None:
    sim.set_controller(state)
    response = status_round_trip(sim)
    assert response.status_code == 500
    error = error_of(response)
    assert (error["type"], error["message"]) == ("ClusterNotUpError", "No live services.")


@pytest.mark.parametrize("state", [ControllerState.INIT, ControllerState.UP, ControllerState.AUTOSTOPPING])
def test_serve_status_with_an_accessible_controller_lists_the_services(
    sim: Simulator, state: ControllerState
) -> None:
    sim.set_controller(state)
    assert [s["name"] for s in services_of(status_round_trip(sim))] == [
        s["name"] for s in sim.fleet.services()
    ]


def test_the_default_controller_follows_the_fleet() -> None:
    with Simulator(services=0) as empty:
        assert empty.controller is ControllerState.ABSENT
    with Simulator(services=1, replicas_per_service=1) as some:
        assert some.controller is ControllerState.UP
    with Simulator(services=1, replicas_per_service=1, controller=ControllerState.STOPPED) as stopped:
        assert stopped.controller is ControllerState.STOPPED


@pytest.mark.parametrize("state", list(ControllerState))
def test_offline_fails_serve_status_on_its_network_check_whatever_the_controller(
    sim: Simulator, state: ControllerState
) -> None:
    sim.set_controller(state)
    sim.set_fault(Fault.OFFLINE)
    response = status_round_trip(sim)
    assert response.status_code == 500
    error = error_of(response)
    assert error["type"] == "RuntimeError"
    assert error["message"] == "Failed to refresh services status due to network error."
    # status reads the database: it needs no internet.
    assert len(_clusters(sim)) == (0 if state is ControllerState.ABSENT else 1)


def test_error_500_fails_status_requests_too(sim: Simulator) -> None:
    posted = _ask(sim, EXPORTER_BODY)
    sim.set_fault(Fault.ERROR_500)
    response = get(sim, posted.headers["X-Skypilot-Request-ID"])
    assert response.status_code == 500
    assert response.json()["detail"]["name"] == "sky.status"
    assert error_of(response)["type"] == "RuntimeError"


@pytest.mark.parametrize("fault", [Fault.GARBAGE, Fault.DEEP, Fault.SURROGATE])
def test_hostile_faults_leave_status_answers_alone(sim: Simulator, fault: Fault) -> None:
    sim.set_fault(fault)
    assert [r["name"] for r in _clusters(sim)] == [CONTROLLER]


@pytest.mark.parametrize(
    ("body", "kind", "loc"),
    [
        ({"cluster_names": "sky-serve-controller-*"}, "list_type", ["body", "cluster_names"]),
        ({"refresh": "SOMETIMES"}, "enum", ["body", "refresh"]),
        ({"all_users": "maybe"}, "bool_parsing", ["body", "all_users"]),
        ([1, 2], "model_attributes_type", ["body"]),
    ],
)
def test_a_body_that_does_not_fit_status_body_is_422(
    sim: Simulator, body: Any, kind: str, loc: list[str]
) -> None:
    response = _ask(sim, body)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert (problem["type"], problem["loc"]) == (kind, loc)


def test_pydantic_lax_booleans_and_unknown_fields_are_accepted(sim: Simulator) -> None:
    body = {**EXPORTER_BODY, "all_users": "yes", "include_handle": 0, "env_vars": {}, "future_field": 1}
    (record,) = _clusters(sim, body)
    assert record["handle"] == "gAROLg=="

"""The simulated SkyPilot API server over real HTTP on loopback."""

import base64
import json
import time

import pytest
import requests

from simulator import Simulator
from tests.unit.simulator.helpers import (
    NEW_CLIENT,
    TIMEOUT,
    error_of,
    get,
    services_of,
    status_round_trip,
    submit,
)


def test_health_body_and_version_headers(sim: Simulator) -> None:
    response = requests.get(f"{sim.url}/api/health", headers=NEW_CLIENT, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["X-SkyPilot-API-Version"] == "62"
    assert response.headers["X-SkyPilot-Version"] == "0.14.1"
    body = response.json()
    assert body["status"] == "healthy"
    assert body["api_version"] == "62"
    assert body["version"] == "0.14.1"
    assert body["basic_auth_enabled"] is False
    assert body["user"] is None


def test_request_id_flow_end_to_end(sim: Simulator) -> None:
    posted = submit(sim)
    assert posted.status_code == 200
    assert posted.headers["X-SkyPilot-API-Version"] == "62"
    request_id = posted.headers["X-Skypilot-Request-ID"]
    response = get(sim, request_id)
    assert response.status_code == 200
    payload = response.json()
    assert payload["request_id"] == request_id
    assert payload["name"] == "sky.serve.status"
    assert payload["status"] == "SUCCEEDED"
    assert payload["schedule_type"] == "short"
    assert payload["error"] == "null"
    assert payload["should_retry"] is False
    assert payload["finished_at"] >= payload["created_at"]
    for field in ("entrypoint", "request_body", "user_id", "pid", "user_name", "cluster_name", "status_msg"):
        assert field in payload
    base64.b64decode(payload["request_body"], validate=True)
    services = services_of(response)
    assert [s["name"] for s in services] == [s["name"] for s in sim.fleet.services()]
    replicas = [r for s in services for r in s["replica_info"]]
    assert all(r["handle"] is None for r in replicas)
    pending = [r for r in replicas if r["status"] == "PENDING"]
    assert pending
    assert all("cloud" not in r and "infra" not in r for r in pending)


def test_result_is_stable_across_polls(sim: Simulator) -> None:
    request_id = submit(sim).headers["X-Skypilot-Request-ID"]
    first = get(sim, request_id).json()
    sim.fleet.step(600)
    assert get(sim, request_id).json() == first


def test_request_id_prefix_is_accepted(sim: Simulator) -> None:
    request_id = submit(sim).headers["X-Skypilot-Request-ID"]
    assert get(sim, request_id[:18]).json()["request_id"] == request_id


def test_unknown_request_id_is_404(sim: Simulator) -> None:
    response = get(sim, "no-such-request")
    assert response.status_code == 404
    assert response.json() == {"detail": "Request 'no-such-request' not found"}
    assert response.headers["X-SkyPilot-API-Version"] == "62"


def test_service_names_filter_with_globs(sim: Simulator) -> None:
    name = sim.fleet.services()[1]["name"]
    posted = submit(sim, {"service_names": [name.upper(), "nothing-like-this"]})
    assert [s["name"] for s in services_of(get(sim, posted.headers["X-Skypilot-Request-ID"]))] == [name]
    posted = submit(sim, {"service_names": name[:3] + "*"})
    assert name in [s["name"] for s in services_of(get(sim, posted.headers["X-Skypilot-Request-ID"]))]
    posted = submit(sim, {"service_names": ["nothing-like-this"]})
    assert services_of(get(sim, posted.headers["X-Skypilot-Request-ID"])) == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [({}, ["body", "service_names"]), ({"service_names": 5}, ["body", "service_names", "list[str]"])],
)
def test_bad_status_body_is_422(sim: Simulator, body: object, loc: list[str]) -> None:
    response = submit(sim, body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_non_json_status_body_is_422(sim: Simulator) -> None:
    response = requests.post(f"{sim.url}/serve/status", data=b"{", headers=NEW_CLIENT, timeout=TIMEOUT)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_missing_request_id_and_unknown_path(sim: Simulator) -> None:
    assert requests.get(f"{sim.url}/api/get", timeout=TIMEOUT).status_code == 422
    assert requests.get(f"{sim.url}/nope", timeout=TIMEOUT).status_code == 404
    assert requests.get(f"{sim.url}/serve/status", timeout=TIMEOUT).status_code == 405


def test_old_clients_get_opaque_handles(sim: Simulator) -> None:
    for headers in ({"X-SkyPilot-API-Version": "40", "X-SkyPilot-Version": "0.10.1"}, {"User-Agent": "curl"}):
        replicas = [r for s in services_of(status_round_trip(sim, headers)) for r in s["replica_info"]]
        with_cluster = [r for r in replicas if "cloud" in r]
        assert with_cluster
        assert all(base64.b64decode(r["handle"]).startswith(b"\x80\x04\x95") for r in with_cluster)


def test_too_old_client_is_refused(sim: Simulator) -> None:
    response = submit(sim, headers={"X-SkyPilot-API-Version": "10", "X-SkyPilot-Version": "0.8.0"})
    assert response.status_code == 400
    assert response.json()["error"] == "version_mismatch"


def test_request_counts(sim: Simulator) -> None:
    before = sim.request_count("/api/get")
    status_round_trip(sim)
    assert sim.request_count("/api/get") == before + 1
    assert sim.requests_served["/serve/status"] >= 1


def test_empty_fleet_fails_with_cluster_not_up() -> None:
    with Simulator(services=0) as empty:
        response = status_round_trip(empty)
    assert response.status_code == 500
    payload = response.json()["detail"]
    assert payload["status"] == "FAILED"
    assert payload["name"] == "sky.serve.status"
    error = error_of(response)
    assert error["type"] == "ClusterNotUpError"
    assert error["message"] == "No live services."
    assert isinstance(error["object"], str)


def test_removing_every_service_leaves_an_up_controller_answering_none() -> None:
    """Only a missing or STOPPED controller is "No live services."; an UP one lists what it has."""
    with Simulator(services=1, replicas_per_service=1) as sim:
        sim.fleet.remove_service(sim.fleet.services()[0]["name"])
        response = status_round_trip(sim)
    assert response.status_code == 200
    assert services_of(response) == []


def test_request_delay_makes_api_get_long_poll() -> None:
    with Simulator(services=1, replicas_per_service=1, request_delay=0.3) as sim:
        request_id = submit(sim).headers["X-Skypilot-Request-ID"]
        started = time.monotonic()
        response = get(sim, request_id)
        assert response.status_code == 200
        assert time.monotonic() - started >= 0.25


def test_token_is_required_when_set() -> None:
    with Simulator(services=1, replicas_per_service=1, token="sky_secret") as sim:
        missing = submit(sim)
        assert missing.status_code == 401
        assert missing.json() == {"detail": "Authentication required"}
        wrong = submit(sim, headers={**NEW_CLIENT, "Authorization": "Bearer sky_wrong"})
        assert wrong.status_code == 401
        assert "detail" in wrong.json()
        good = {**NEW_CLIENT, "Authorization": "Bearer sky_secret"}
        assert status_round_trip(sim, good).status_code == 200
        assert get(sim, "x", headers=NEW_CLIENT).status_code == 401
        health = requests.get(f"{sim.url}/api/health", headers=NEW_CLIENT, timeout=TIMEOUT).json()
        assert health["status"] == "needs_auth"
        assert requests.get(f"{sim.url}/api/health", timeout=TIMEOUT).json() == {"status": "healthy"}


def test_return_value_never_decodes_to_non_json(sim: Simulator) -> None:
    payload = status_round_trip(sim).json()
    assert isinstance(json.loads(payload["return_value"]), list)

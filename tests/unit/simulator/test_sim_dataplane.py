"""The data plane: health answers for every service and replica endpoint."""

from typing import Any

import requests

from simulator import Simulator
from tests.unit.simulator.helpers import TIMEOUT


def _status(url: str) -> int:
    return requests.get(url, timeout=TIMEOUT).status_code


def _replicas(sim: Simulator) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(s, r) for s in sim.fleet.services() for r in s["replica_info"]]


def test_endpoints_point_at_the_data_plane(sim: Simulator) -> None:
    for service in sim.fleet.services():
        assert service["endpoint"].startswith(sim.data_plane_url)


def test_replica_health_follows_status(sim: Simulator) -> None:
    checked = set()
    for _service, replica in _replicas(sim):
        if replica["endpoint"] is None:
            continue
        expected = 200 if replica["status"] == "READY" else 503
        assert _status(f"{replica['endpoint']}/health") == expected
        assert _status(f"{replica['endpoint']}/") == expected
        checked.add(expected)
    assert checked == {200, 503}


def test_service_health_needs_a_ready_replica(sim: Simulator) -> None:
    for service in sim.fleet.services():
        ready = any(r["status"] == "READY" for r in service["replica_info"])
        assert _status(f"{service['endpoint']}/health") == (200 if ready else 503)
    response = requests.get(f"{sim.fleet.services()[0]['endpoint']}/health", timeout=TIMEOUT)
    assert response.text == "ok"


def test_unknown_targets_are_404(sim: Simulator) -> None:
    assert _status(f"{sim.data_plane_url}/services/nope/health") == 404
    assert _status(f"{sim.data_plane_url}/replicas/nope/1/health") == 404
    name = sim.fleet.services()[0]["name"]
    assert _status(f"{sim.data_plane_url}/replicas/{name}/99999/health") == 404
    assert _status(f"{sim.data_plane_url}/") == 404


def test_removed_replica_becomes_404() -> None:
    with Simulator(services=1, replicas_per_service=2, seed=1) as sim:
        service = sim.fleet.services()[0]
        replica = service["replica_info"][0]
        assert _status(f"{replica['endpoint']}/health") == 200
        sim.fleet.remove_replica(service["name"], replica["replica_id"])
        assert _status(f"{replica['endpoint']}/health") == 404
        assert sim.data_plane_requests[f"/replicas/{service['name']}/{replica['replica_id']}/health"] == 2

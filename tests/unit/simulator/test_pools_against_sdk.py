"""The simulator's pools and jobs controller as SkyPilot 0.14.1's own SDK reads them.

``sky.jobs.pool_status`` sends ``JobsPoolStatusBody`` to ``/jobs/pool_status`` and ``sdk.get``
decodes ``sky.jobs.pool_status`` with serve.status's decoder; ``sdk.status`` for the jobs
controller decodes into ``StatusResponse``. If either fails on an answer, it is not what a real
server sends.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sky import exceptions
from sky.client import sdk
from sky.jobs.client import sdk as jobs_sdk
from sky.serve import serve_state
from sky.utils import status_lib

from simulator import ControllerState, Fault, Simulator
from simulator.pools import JOB_SECONDS, SCALE_PERIOD
from tests.unit.simulator.helpers import NEW_CLIENT, TIMEOUT
from tests.unit.sky_client import pointed_at

JOBS_CONTROLLER = "sky-jobs-controller-7f3e9a1c"
SERVE_CONTROLLER = "sky-serve-controller-7f3e9a1c"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    with (
        Simulator(services=1, replicas_per_service=2, seed=4, pools=2) as running,
        pointed_at(running.url, tmp_path_factory.mktemp("home")),
    ):
        yield running


@pytest.fixture(autouse=True)
def healthy(sim: Simulator) -> Iterator[None]:
    sim.set_fault(Fault.NONE)
    sim.set_jobs_controller(ControllerState.UP)
    yield
    sim.set_fault(Fault.NONE)
    sim.set_jobs_controller(ControllerState.UP)


def test_pool_status_decodes_into_the_sdks_records(sim: Simulator) -> None:
    pools = sdk.get(jobs_sdk.pool_status(None))
    assert [p["name"] for p in pools] == ["batch-l4", "train-h100"]
    for pool in pools:
        assert pool["pool"] is True
        assert isinstance(pool["status"], serve_state.ServiceStatus)
        for worker in pool["replica_info"]:
            assert isinstance(worker["status"], serve_state.ReplicaStatus)
            assert worker["handle"] is None
            assert all(isinstance(job, int) for job in worker["used_by"])


def test_pool_status_by_name(sim: Simulator) -> None:
    (pool,) = sdk.get(jobs_sdk.pool_status("train-*"))
    assert pool["name"] == "train-h100"
    assert pool["policy"] == "Fixed-size (2 workers)"


def test_no_jobs_controller_raises_the_sdks_cluster_not_up_error(sim: Simulator) -> None:
    sim.set_jobs_controller(ControllerState.ABSENT)
    with pytest.raises(exceptions.ClusterNotUpError, match="No in-progress managed jobs"):
        sdk.get(jobs_sdk.pool_status(None))


def test_offline_raises_the_servers_runtime_error_for_pools(sim: Simulator) -> None:
    sim.set_fault(Fault.OFFLINE)
    with pytest.raises(RuntimeError, match="Failed to refresh pools status due to network error"):
        sdk.get(jobs_sdk.pool_status(None))


def test_both_controllers_decode_as_status_responses(sim: Simulator) -> None:
    records = sdk.get(sdk.status(cluster_names=["sky-*-controller-*"], all_users=True))
    # Latest launched first: the jobs controller came after the serve controller.
    assert [r["name"] for r in records] == [JOBS_CONTROLLER, SERVE_CONTROLLER]
    jobs_controller = records[0]
    assert jobs_controller["status"] == status_lib.ClusterStatus.UP
    assert "m6i.xlarge" in jobs_controller["resources_str_full"]


def test_an_old_server_answers_pool_status_404(tmp_path: Path) -> None:
    with Simulator(services=1, replicas_per_service=1, pools=1, pool_route=False) as old:
        answer = requests.post(
            old.url + "/jobs/pool_status", json={"pool_names": None}, headers=NEW_CLIENT, timeout=TIMEOUT
        )
    assert answer.status_code == 404


def test_workers_scale_and_take_jobs() -> None:
    with Simulator(services=0, replicas_per_service=0, pools=1) as running:
        (spec,) = running.pools.specs
        start = running.fleet.now
        seen_status: set[str] = set()
        busy_and_idle: set[bool] = set()
        for step in range(0, int(SCALE_PERIOD), int(JOB_SECONDS / 5)):
            for worker in running.pools.workers(spec, start + step):
                seen_status.add(worker.status)
                if worker.status == "READY":
                    busy_and_idle.add(bool(worker.used_by))
        counts = {len(running.pools.workers(spec, start + t)) for t in (0.0, SCALE_PERIOD * 0.75)}
    assert {"PROVISIONING", "STARTING", "READY", "SHUTTING_DOWN"} <= seen_status
    assert busy_and_idle == {True, False}
    assert counts == {spec.max_workers, spec.min_workers}


def test_pool_status_requires_pool_names(sim: Simulator) -> None:
    """``JobsPoolStatusBody.pool_names`` has no default: FastAPI answers 422 without it."""
    answer = requests.post(sim.url + "/jobs/pool_status", json={}, headers=NEW_CLIENT, timeout=TIMEOUT)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "pool_names"]


def test_an_old_client_gets_pickled_worker_handles(sim: Simulator) -> None:
    """Below API version 51, serialize_serve_status (shared with pools) keeps the base64 handle."""
    headers = {"X-SkyPilot-API-Version": "40", "X-SkyPilot-Version": "0.10.0"}
    posted = requests.post(
        sim.url + "/jobs/pool_status", json={"pool_names": None}, headers=headers, timeout=TIMEOUT
    )
    got = requests.get(
        sim.url + "/api/get",
        params={"request_id": posted.headers["X-Skypilot-Request-ID"]},
        headers=headers,
        timeout=TIMEOUT,
    ).json()
    assert got["name"] == "sky.jobs.pool_status"
    assert got["cluster_name"] == JOBS_CONTROLLER
    pools = json.loads(got["return_value"])
    assert all(isinstance(w["handle"], str) for p in pools for w in p["replica_info"])

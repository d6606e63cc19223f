"""The fleet model: composition, wire shape, determinism and lifecycle over simulated time."""

from collections.abc import Callable
from typing import Any

import pytest

from simulator import Fleet

SERVICE_KEYS = {
    "name", "status", "uptime", "endpoint", "policy", "version", "active_versions", "load_balancing_policy",
    "tls_encrypted", "target_num_replicas", "replica_info", "yaml_content", "controller_port",
    "load_balancer_port", "requested_resources_str", "controller_job_id", "pool",
}  # fmt: skip
REPLICA_KEYS = {"replica_id", "name", "status", "version", "endpoint", "is_spot", "launched_at", "handle"}
CLUSTER_KEYS = {"cloud", "region", "resources_str", "resources_str_full", "infra"}
SERVICE_STATUSES = {
    "CONTROLLER_INIT", "REPLICA_INIT", "CONTROLLER_FAILED", "READY", "SHUTTING_DOWN", "FAILED",
    "FAILED_CLEANUP", "NO_REPLICA",
}  # fmt: skip


def _replicas(fleet: Fleet) -> list[dict[str, Any]]:
    return [r for s in fleet.services() for r in s["replica_info"]]


def _step_until(fleet: Fleet, found: Callable[[list[dict[str, Any]]], bool], steps: int) -> int:
    """Step until ``found(services)``; the number of steps it took (fails past ``steps``)."""
    for taken in range(1, steps + 1):
        fleet.step(10)
        if found(fleet.services()):
            return taken
    pytest.fail(f"not reached within {steps} steps")


def test_initial_fleet_has_n_services_of_m_replicas() -> None:
    services = Fleet(5, 4, seed=1).services()
    assert len(services) == 5
    assert len({s["name"] for s in services}) == 5
    assert all(len(s["replica_info"]) == 4 for s in services)


def test_initial_fleet_is_mostly_ready_with_a_mix() -> None:
    statuses = [r["status"] for r in _replicas(Fleet(10, 10, seed=2))]
    assert statuses.count("READY") > len(statuses) / 2
    assert {"PENDING", "PROVISIONING", "STARTING"} <= set(statuses)


def test_spread_over_clouds_spot_and_multi_node() -> None:
    replicas = [r for r in _replicas(Fleet(20, 10, seed=3)) if "cloud" in r]
    assert {r["cloud"] for r in replicas} == {"AWS", "GCP", "Azure", "Kubernetes", "SSH"}
    assert any(r["is_spot"] for r in replicas)
    assert not any(r["is_spot"] for r in replicas if r["cloud"] in ("Kubernetes", "SSH"))
    assert any(r["resources_str_full"].startswith("2x(") for r in replicas)
    assert any("..." in r["infra"] for r in replicas)


def test_small_default_fleet_shows_a_multi_node_service() -> None:
    assert any(r.get("resources_str_full", "").startswith("2x") for r in _replicas(Fleet(3, 4, seed=1)))


def test_wire_keys_and_pending_replicas_lack_cluster_keys() -> None:
    services = Fleet(10, 6, seed=4).services()
    for service in services:
        assert set(service) >= SERVICE_KEYS
        assert service["status"] in SERVICE_STATUSES
        assert "HF_TOKEN: hf_simulated_secret" in service["yaml_content"]
        for replica in service["replica_info"]:
            assert set(replica) >= REPLICA_KEYS
            assert replica["name"] == f"{service['name']}-{replica['replica_id']}"
            assert replica["handle"] is None
            if replica["status"] == "PENDING":
                assert not CLUSTER_KEYS & set(replica)
                assert replica["endpoint"] is None
    assert any(r["status"] == "PENDING" for s in services for r in s["replica_info"])


def test_service_status_is_consistent_with_replicas() -> None:
    fleet = Fleet(8, 5, seed=5)
    for _ in range(30):
        fleet.step(10)
        for service in fleet.services():
            ready = [r for r in service["replica_info"] if r["status"] == "READY"]
            if service["status"] == "CONTROLLER_FAILED":
                assert service["target_num_replicas"] is None
                continue
            assert service["status"] == ("READY" if ready else "NO_REPLICA")
            assert service["active_versions"] == sorted({r["version"] for r in ready})
            assert (service["uptime"] is not None) or not ready


def test_same_seed_and_steps_give_identical_fleets() -> None:
    first, second = Fleet(4, 5, seed=42), Fleet(4, 5, seed=42)
    for seconds in (10, 10, 30, 5, 60) * 10:
        first.step(seconds)
        second.step(seconds)
    assert first.services() == second.services()


def test_different_seeds_differ() -> None:
    assert Fleet(4, 5, seed=1).services() != Fleet(4, 5, seed=2).services()


def test_services_returns_a_fresh_copy() -> None:
    fleet = Fleet(2, 2, seed=1)
    copy = fleet.services()
    copy[0]["replica_info"].clear()
    copy[0]["name"] = "changed"
    assert fleet.services()[0]["name"] != "changed"
    assert fleet.services()[0]["replica_info"]


def test_a_pending_replica_becomes_ready() -> None:
    fleet = Fleet(3, 4, seed=1)
    pending = {(s["name"], r["replica_id"]) for s in fleet.services() for r in s["replica_info"]
               if r["status"] == "PENDING"}  # fmt: skip
    assert pending
    seen: set[str] = set()

    def ready(services: list[dict[str, Any]]) -> bool:
        for service in services:
            for replica in service["replica_info"]:
                if (service["name"], replica["replica_id"]) in pending:
                    seen.add(replica["status"])
                    if replica["status"] == "READY":
                        return True
        return False

    _step_until(fleet, ready, steps=200)
    assert {"PROVISIONING", "STARTING"} <= seen


def test_provisioning_replica_gets_cluster_keys_and_launched_at() -> None:
    fleet = Fleet(3, 4, seed=1)
    for replica in _replicas(fleet):
        if replica["status"] == "PROVISIONING":
            assert set(replica) >= CLUSTER_KEYS
            assert isinstance(replica["launched_at"], int)


def test_spot_preemption_happens_and_is_replaced() -> None:
    fleet = Fleet(3, 4, seed=1)

    def preempted(services: list[dict[str, Any]]) -> bool:
        return any(r["status"] == "PREEMPTED" for s in services for r in s["replica_info"])

    _step_until(fleet, preempted, steps=1000)
    service = next(s for s in fleet.services() if any(r["status"] == "PREEMPTED" for r in s["replica_info"]))
    victim = next(r for r in service["replica_info"] if r["status"] == "PREEMPTED")
    assert victim["is_spot"]
    assert max(r["replica_id"] for r in service["replica_info"]) > victim["replica_id"]


def test_version_roll_launches_new_version_and_retires_old() -> None:
    fleet = Fleet(3, 4, seed=1)
    before = {s["name"]: s["version"] for s in fleet.services()}

    def rolled(services: list[dict[str, Any]]) -> bool:
        return any(s["version"] > before[s["name"]] for s in services)

    _step_until(fleet, rolled, steps=2000)
    service = next(s for s in fleet.services() if s["version"] > before[s["name"]])
    assert any(r["version"] == service["version"] for r in service["replica_info"])

    def settled(services: list[dict[str, Any]]) -> bool:
        current = next(s for s in services if s["name"] == service["name"])
        versions = {r["version"] for r in current["replica_info"] if r["status"] == "READY"}
        return versions == {current["version"]}

    _step_until(fleet, settled, steps=500)


def test_remove_replica_and_service() -> None:
    fleet = Fleet(3, 4, seed=1)
    service = fleet.services()[0]
    replica_id = service["replica_info"][0]["replica_id"]
    fleet.remove_replica(service["name"], replica_id)
    after = next(s for s in fleet.services() if s["name"] == service["name"])
    assert replica_id not in {r["replica_id"] for r in after["replica_info"]}
    fleet.remove_service(service["name"])
    assert service["name"] not in {s["name"] for s in fleet.services()}
    with pytest.raises(KeyError):
        fleet.remove_replica(service["name"], replica_id)


def test_removed_replica_id_never_comes_back() -> None:
    fleet = Fleet(1, 3, seed=1)
    name = fleet.services()[0]["name"]
    fleet.remove_replica(name, 1)
    for _ in range(50):
        fleet.step(10)
    assert 1 not in {r["replica_id"] for r in fleet.services()[0]["replica_info"]}


def test_endpoint_base_rewrites_endpoints() -> None:
    fleet = Fleet(2, 3, seed=1)
    fleet.set_endpoint_base("http://127.0.0.1:9999/")
    for service in fleet.services():
        assert service["endpoint"] == f"http://127.0.0.1:9999/services/{service['name']}"
        for replica in service["replica_info"]:
            if replica["endpoint"] is not None:
                assert (
                    replica["endpoint"]
                    == f"http://127.0.0.1:9999/replicas/{service['name']}/{replica['replica_id']}"
                )


def test_empty_and_invalid_sizes() -> None:
    assert Fleet(0, 4, seed=1).services() == []
    assert all(s["replica_info"] == [] for s in Fleet(2, 0, seed=1).services())
    with pytest.raises(ValueError):
        Fleet(-1, 1, seed=1)
    with pytest.raises(ValueError):
        Fleet(1, 1, seed=1).step(0)

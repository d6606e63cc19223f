import dataclasses
from typing import Any

import pytest

from collectors.skyserve.records import (
    DUPLICATE_REPLICA,
    DUPLICATE_SERVICE,
    INVALID_REPLICA,
    INVALID_SERVICE,
    ServiceRecord,
    parse_fleet,
)
from tests.unit.skyserve.helpers import recorded_services


def _by_name(services: tuple[ServiceRecord, ...]) -> dict[str, ServiceRecord]:
    return {service.name: service for service in services}


def test_recorded_fleet_is_parsed_and_malformed_records_are_counted() -> None:
    fleet = parse_fleet(recorded_services())
    assert [s.name for s in fleet.services] == ["llama-svc", "mistral-svc", "embed-svc"]
    assert fleet.skipped == {INVALID_SERVICE: 1, INVALID_REPLICA: 2}
    services = _by_name(fleet.services)
    assert [r.replica_id for r in services["llama-svc"].replicas] == [1, 2, 3, 4]
    assert [r.replica_id for r in services["mistral-svc"].replicas] == [1, 2, 5]
    assert services["embed-svc"].replicas == ()


def test_service_fields() -> None:
    services = _by_name(parse_fleet(recorded_services()).services)
    llama, mistral, embed = services["llama-svc"], services["mistral-svc"], services["embed-svc"]
    assert llama.ready_since == 1795820809.0
    assert llama.version == 2 and llama.active_versions == (1, 2)
    assert llama.target_num_replicas is None
    assert (llama.load_balancing_policy, llama.tls_encrypted) == ("least_load", False)
    assert (mistral.tls_encrypted, mistral.target_num_replicas, mistral.ready_since) == (True, 2, None)
    assert (embed.endpoint, embed.status) == (None, "CONTROLLER_INIT")


def test_replica_placements() -> None:
    replicas = {
        (r.service_name, r.replica_id): r
        for s in parse_fleet(recorded_services()).services
        for r in s.replicas
    }
    spot = replicas[("llama-svc", 1)]
    assert (spot.placement.cloud, spot.placement.region, spot.placement.zone) == (
        "aws",
        "us-east-2",
        "us-east-2a",
    )
    assert spot.is_spot and spot.placement.resources.instance_type == "g6.xlarge"
    k8s = replicas[("llama-svc", 3)]
    assert (k8s.placement.cloud, k8s.placement.zone, k8s.placement.resources.instance_type) == (
        "kubernetes",
        "",
        "",
    )
    assert k8s.endpoint is None
    pending = replicas[("llama-svc", 4)]
    assert (pending.placement.cloud, pending.placement.region, pending.launched_at) == ("", "", None)
    ssh = replicas[("mistral-svc", 5)]
    assert (ssh.placement.cloud, ssh.placement.region, ssh.status) == ("ssh", "ssh-my-gpu-pool", "DRAINING")


def test_records_keep_neither_yaml_nor_handle() -> None:
    fleet = parse_fleet(recorded_services())
    text = repr(fleet)
    assert "TOPSECRET" not in text
    assert "gASV" not in text  # the old server's pickled handle
    field_names = {f.name for f in dataclasses.fields(ServiceRecord)}
    assert "yaml_content" not in field_names and "handle" not in field_names


@pytest.mark.parametrize(
    "bad_service",
    [
        "not-a-dict",
        None,
        {"status": "READY"},
        {"name": "", "status": "READY"},
        {"name": 3, "status": "READY"},
        {"name": "svc", "status": None},
        {"name": "svc"},
        {"name": "svc", "status": "READY", "replica_info": "oops"},
    ],
)
def test_invalid_service_is_skipped(bad_service: Any) -> None:
    fleet = parse_fleet([bad_service, {"name": "ok", "status": "READY", "replica_info": []}])
    assert [s.name for s in fleet.services] == ["ok"]
    assert fleet.skipped == {INVALID_SERVICE: 1}


@pytest.mark.parametrize(
    "bad_replica",
    [
        "x",
        {"status": "READY"},
        {"replica_id": "1", "status": "READY"},
        {"replica_id": True, "status": "READY"},
        {"replica_id": 1.0, "status": "READY"},
        {"replica_id": 1, "status": 5},
        {"replica_id": 1},
    ],
)
def test_invalid_replica_is_skipped(bad_replica: Any) -> None:
    fleet = parse_fleet(
        [
            {
                "name": "svc",
                "status": "READY",
                "replica_info": [bad_replica, {"replica_id": 2, "status": "READY"}],
            }
        ]
    )
    assert [r.replica_id for r in fleet.services[0].replicas] == [2]
    assert fleet.skipped == {INVALID_REPLICA: 1}


def test_duplicates_are_skipped_so_series_stay_unique() -> None:
    replica = {"replica_id": 1, "status": "READY"}
    fleet = parse_fleet(
        [
            {"name": "svc", "status": "READY", "replica_info": [replica, replica]},
            {"name": "svc", "status": "FAILED", "replica_info": []},
        ]
    )
    assert len(fleet.services) == 1 and fleet.services[0].status == "READY"
    assert fleet.skipped == {DUPLICATE_REPLICA: 1, DUPLICATE_SERVICE: 1}


def test_wrongly_typed_optional_fields_are_dropped_not_fatal() -> None:
    raw = {
        "name": "svc",
        "status": "READY",
        "uptime": "yesterday",
        "version": "2",
        "target_num_replicas": True,
        "endpoint": 42,
        "replica_info": [{"replica_id": 1, "status": "READY", "launched_at": float("nan"), "is_spot": "yes"}],
    }
    service = parse_fleet([raw]).services[0]
    assert (service.ready_since, service.version, service.target_num_replicas, service.endpoint) == (
        None,
        None,
        None,
        None,
    )
    replica = service.replicas[0]
    assert (replica.launched_at, replica.is_spot) == (None, False)

import dataclasses
from typing import Any

import pytest

from collectors.skyserve.records import (
    DUPLICATE_REPLICA,
    DUPLICATE_SERVICE,
    INVALID_REPLICA,
    INVALID_SERVICE,
    Resources,
    ServiceRecord,
    parse_fleet,
    parse_resources,
    placement_key,
    placement_of,
    split_top_level,
    zone_from_infra,
)
from collectors.skyserve.wire import replica_of
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "1x[spot](gpus=L4:1, cpus=4, mem=16, g6.xlarge, disk=256, ports=['8080'])",
            Resources(nodes=1, spot=True, accelerator="L4", accelerators_per_node=1,
                      instance_type="g6.xlarge", cpus=4, memory_gib=16),
        ),
        (
            "2x(gpus=A100:8, cpus=96, mem=1360, p4d.24xlarge, disk=256)",
            Resources(nodes=2, accelerator="A100", accelerators_per_node=8, instance_type="p4d.24xlarge",
                      cpus=96, memory_gib=1360),
        ),
        (  # Kubernetes: SkyPilot leaves the (synthetic) instance type out
            "1x(gpus=L4:1, cpus=4, mem=16, disk=256, ports=['8080'])",
            Resources(nodes=1, accelerator="L4", accelerators_per_node=1, cpus=4, memory_gib=16),
        ),
        (
            "1x(cpus=2, mem=8, n2-standard-2, disk=100)",
            Resources(nodes=1, instance_type="n2-standard-2", cpus=2, memory_gib=8),
        ),
        (  # commas inside brackets do not split components
            "1x(cpus=8, mem=32, m6i.2xlarge, image_id={'us-east-1': 'ami-1', 'us-west-2': 'ami-2'}, "
            "disk=256, ports=['8080', '8081'])",
            Resources(nodes=1, instance_type="m6i.2xlarge", cpus=8, memory_gib=32),
        ),
        (
            "4x[spot](gpus=tpu-v4-8:1, cpus=240, mem=400, TPU-VM, disk=256, disk_tier=high)",
            Resources(nodes=4, spot=True, accelerator="tpu-v4-8", accelerators_per_node=1,
                      instance_type="TPU-VM", cpus=240, memory_gib=400),
        ),
        (  # simplified form: the instance type is cut to 15 characters, so it is not used
            "1x(gpus=H100:8, Standard_ND96...., ...)",
            Resources(nodes=1, accelerator="H100", accelerators_per_node=8),
        ),
        (
            "1x(gpus=A10G:0.5, cpus=4, mem=16, g5.xlarge, disk=256)",
            Resources(nodes=1, accelerator="A10G", accelerators_per_node=0.5, instance_type="g5.xlarge",
                      cpus=4, memory_gib=16),
        ),
        ("1x()", Resources(nodes=1)),
        ("", Resources()),
        ("<initializing>", Resources()),
        ("-", Resources()),
    ],
)  # fmt: skip
def test_parse_resources(text: str, expected: Resources) -> None:
    assert parse_resources(text) == expected


def test_split_top_level_keeps_bracketed_groups_whole() -> None:
    assert split_top_level("a, ports=['1', '2'], d={'x': 1, 'y': 2}, (p, q), z") == [
        "a",
        "ports=['1', '2']",
        "d={'x': 1, 'y': 2}",
        "(p, q)",
        "z",
    ]


@pytest.mark.parametrize(
    ("infra", "cloud", "region", "zone"),
    [
        ("AWS (us-east-2a)", "aws", "us-east-2", "us-east-2a"),
        ("GCP (us-central1-a)", "gcp", "us-central1", "us-central1-a"),
        ("AWS (us-east-2)", "aws", "us-east-2", ""),  # region only: no zone
        ("Azure (eastus)", "azure", "eastus", ""),
        ("Azure (1)", "azure", "eastus", ""),  # not prefixed by the region: not a zone we know
        # 25 characters is the longest SkyPilot shows whole; anything longer cannot be an uncut name
        ("GCP (northamerica-northeast1-a)", "gcp", "northamerica-northeast1", "northamerica-northeast1-a"),
        ("GCP (northamerica-northeast1-ab)", "gcp", "northamerica-northeast1", ""),
        ("GCP (northam...heast1-a)", "gcp", "northamerica-northeast1", ""),  # cut in the middle
        ("GCP (us-gov-sou...ral1-a)", "gcp", "us-gov-south-central1", ""),
        ("GCP (australia-southeast1-a)", "gcp", "australia-southeast1", "australia-southeast1-a"),  # 22 chars
        ("Kubernetes (onprem-gpu)", "kubernetes", "onprem-gpu", ""),
        ("Kubernetes (onprem-gpu-zone)", "kubernetes", "onprem-gpu", ""),  # a context, never a zone
        ("SSH (my-pool)", "ssh", "ssh-my-pool", ""),
        ("AWS", "aws", "us-east-2", ""),
        ("", "aws", "us-east-2", ""),
        ("AWS (us-east-2a)", "aws", "", ""),  # without a region nothing can be checked
        ("-", "", "", ""),
    ],
)
def test_zone_from_infra(infra: str, cloud: str, region: str, zone: str) -> None:
    assert zone_from_infra(infra, cloud, region) == zone


def test_placement_of_a_pending_replica_is_empty() -> None:
    placement = placement_of(
        placement_key(replica_of({"replica_id": 4, "status": "PENDING", "handle": None}))
    )
    assert (placement.cloud, placement.region, placement.zone) == ("", "", "")
    assert placement.resources == Resources()
    assert placement.accelerators_total is None


@pytest.mark.parametrize(
    ("cloud", "expected"),
    [("AWS", "aws"), ("GCP", "gcp"), ("Azure", "azure"), ("Kubernetes", "kubernetes"), ("SSH", "ssh"),
     ("RunPod", "runpod"), ("Lambda", "lambda"), (None, ""), (7, "")],
)  # fmt: skip
def test_cloud_is_lower_cased(cloud: object, expected: str) -> None:
    assert placement_of(placement_key(replica_of({"cloud": cloud}))).cloud == expected


def test_accelerators_total_counts_every_node() -> None:
    placement = placement_of(
        placement_key(
            replica_of(
                {
                    "cloud": "AWS",
                    "region": "us-west-2",
                    "infra": "AWS (us-west-2b)",
                    "resources_str_full": "2x(gpus=A100:8, cpus=96, mem=1152, p4d.24xlarge, disk=256)",
                }
            )
        )
    )
    assert placement.zone == "us-west-2b"
    assert placement.accelerators_total == 16

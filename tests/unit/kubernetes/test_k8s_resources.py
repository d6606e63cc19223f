"""Node placement for each cloud's managed Kubernetes, spot labels, accelerator names, and quantities."""

import json
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest
from kubernetes.utils import parse_quantity as oracle

from collectors.kubernetes.resources import (
    NodePlacement,
    is_spot,
    node_accelerator,
    node_placement,
    parse_quantity,
)

GKE = {
    "topology.kubernetes.io/region": "us-central1",
    "topology.kubernetes.io/zone": "us-central1-a",
    "node.kubernetes.io/instance-type": "a2-highgpu-8g",
    "cloud.google.com/gke-accelerator": "nvidia-tesla-a100",
    "cloud.google.com/gke-nodepool": "a100",
}
EKS = {
    "topology.kubernetes.io/region": "us-east-2",
    "topology.kubernetes.io/zone": "us-east-2b",
    "node.kubernetes.io/instance-type": "g6.xlarge",
    "eks.amazonaws.com/capacityType": "SPOT",
    "nvidia.com/gpu.product": "NVIDIA-L4",
}
KARPENTER = {
    "topology.kubernetes.io/region": "us-west-2",
    "topology.kubernetes.io/zone": "us-west-2a",
    "node.kubernetes.io/instance-type": "g5.xlarge",
    "karpenter.sh/capacity-type": "spot",
    "karpenter.k8s.aws/instance-gpu-name": "a10g",
}
AKS = {
    "topology.kubernetes.io/region": "eastus",
    "topology.kubernetes.io/zone": "eastus-1",
    "node.kubernetes.io/instance-type": "Standard_NC24ads_A100_v4",
    "kubernetes.azure.com/scalesetpriority": "spot",
    "nvidia.com/gpu.product": "NVIDIA-A100-80GB-PCIe",
}
AKS_ID = "azure:///subscriptions/1/resourceGroups/mc/providers/Microsoft.Compute/virtualMachineScaleSets/a/0"
LEGACY = {
    "failure-domain.beta.kubernetes.io/region": "eu-west-1",
    "failure-domain.beta.kubernetes.io/zone": "eu-west-1b",
    "beta.kubernetes.io/instance-type": "m6i.2xlarge",
}

CASES = [
    (
        "gke",
        GKE,
        "gce://acme-ml/us-central1-a/gke-a100-1",
        NodePlacement("gcp", "us-central1", "us-central1-a", "a2-highgpu-8g", "A100", False),
    ),
    (
        "eks managed spot",
        EKS,
        "aws:///us-east-2b/i-0abc",
        NodePlacement("aws", "us-east-2", "us-east-2b", "g6.xlarge", "L4", True),
    ),
    (
        "eks karpenter spot",
        KARPENTER,
        "aws:///us-west-2a/i-0def",
        NodePlacement("aws", "us-west-2", "us-west-2a", "g5.xlarge", "A10G", True),
    ),
    (
        "aks spot",
        AKS,
        AKS_ID,
        NodePlacement("azure", "eastus", "eastus-1", "Standard_NC24ads_A100_v4", "A100-80GB", True),
    ),
    (
        "legacy labels",
        LEGACY,
        "aws:///eu-west-1b/i-1",
        NodePlacement("aws", "eu-west-1", "eu-west-1b", "m6i.2xlarge", "", False),
    ),
    (
        "hetzner",
        {"topology.kubernetes.io/region": "fsn1", "node.kubernetes.io/instance-type": "cx41"},
        "hcloud://1234",
        NodePlacement("hetzner", "fsn1", "", "cx41", "", False),
    ),
    (
        "oci",
        {"topology.kubernetes.io/region": "us-ashburn-1"},
        "oci://ocid1.instance.oc1",
        NodePlacement("oci", "us-ashburn-1", "", "", "", False),
    ),
    (
        "kind",
        {"kubernetes.io/hostname": "kind-worker"},
        "kind://docker/kind/kind-worker",
        NodePlacement("kubernetes", "ctx", "", "", "", False),
    ),
    (
        "bare metal with GFD",
        {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "topology.kubernetes.io/zone": "rack-a"},
        "",
        NodePlacement("kubernetes", "ctx", "rack-a", "", "H100-80GB", False),
    ),
    (
        "gke without providerID",
        {"cloud.google.com/gke-nodepool": "p", "cloud.google.com/gke-preemptible": "true"},
        "",
        NodePlacement("gcp", "", "", "", "", True),
    ),
    (
        "eks without providerID",
        {"eks.amazonaws.com/nodegroup": "ng"},
        "",
        NodePlacement("aws", "", "", "", "", False),
    ),
    (
        "aks without providerID",
        {"kubernetes.azure.com/cluster": "mc"},
        "",
        NodePlacement("azure", "", "", "", "", False),
    ),
]


@pytest.mark.parametrize(
    ("labels", "provider_id", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_node_placement(labels: Mapping[str, str], provider_id: str, expected: NodePlacement) -> None:
    assert node_placement(labels, provider_id, "ctx") == expected


SPOT = [
    ({"eks.amazonaws.com/capacityType": "SPOT"}, True),
    ({"eks.amazonaws.com/capacityType": "ON_DEMAND"}, False),
    ({"karpenter.sh/capacity-type": "spot"}, True),
    ({"karpenter.sh/capacity-type": "on-demand"}, False),
    ({"karpenter.sh/capacity-type": "reserved"}, False),
    ({"cloud.google.com/gke-spot": "true"}, True),
    ({"cloud.google.com/gke-preemptible": "true"}, True),
    ({"cloud.google.com/gke-provisioning": "spot"}, True),
    ({"cloud.google.com/gke-provisioning": "standard"}, False),
    ({"kubernetes.azure.com/scalesetpriority": "spot"}, True),
    ({"kubernetes.azure.com/scalesetpriority": "regular"}, False),
    ({"node.kubernetes.io/lifecycle": "spot"}, True),
    ({}, False),
]


@pytest.mark.parametrize(
    ("labels", "expected"), SPOT, ids=[str(sorted(labels.items())) for labels, _ in SPOT]
)
def test_spot_labels(labels: Mapping[str, str], expected: bool) -> None:
    assert is_spot(labels) is expected


GFD_VALUES = [
    "NVIDIA-A100-SXM4-80GB",
    "NVIDIA-A100-PCIE-40GB",
    "NVIDIA-A100-SXM4-40GB",
    "NVIDIA-H100-80GB-HBM3",
    "NVIDIA-H100-NVL",
    "NVIDIA-H200",
    "NVIDIA-L4",
    "NVIDIA-L40S",
    "NVIDIA-A10G",
    "Tesla-T4",
    "Tesla-V100-SXM2-16GB",
    "NVIDIA-GeForce-RTX-4090",
    "NVIDIA-RTX-A6000",
    "NVIDIA-B200",
]
GKE_VALUES = [
    "nvidia-tesla-t4",
    "nvidia-tesla-a100",
    "nvidia-a100-80gb",
    "nvidia-l4",
    "nvidia-h100-80gb",
    "nvidia-h100-mega-80gb",
    "nvidia-h200-141gb",
    "nvidia-b200",
    "nvidia-tesla-v100",
]

_ORACLE = """
import json, sys
from sky.provision.kubernetes import utils
cases = json.load(sys.stdin)
print(json.dumps({
    "gfd": [utils.GFDLabelFormatter.get_accelerator_from_label_value(v) for v in cases["gfd"]],
    "gke": [utils.GKELabelFormatter.get_accelerator_from_label_value(v) for v in cases["gke"]],
    "karpenter": [
        utils.KarpenterLabelFormatter.get_accelerator_from_label_value(v) for v in cases["karpenter"]
    ],
    "skypilot": [utils.SkyPilotLabelFormatter.get_accelerator_from_label_value(v) for v in cases["skypilot"]],
}))
"""


def test_accelerator_names_agree_with_skypilots_label_formatters(tmp_path: object) -> None:
    """SkyPilot 0.14.1 (a test dependency) is the oracle, run apart so it reads no real ~/.sky."""
    cases = {
        "gfd": GFD_VALUES,
        "gke": GKE_VALUES,
        "karpenter": ["l4", "a10g", "t4"],
        "skypilot": ["h100", "l4"],
    }
    done = subprocess.run(
        [sys.executable, "-c", _ORACLE],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    expected = json.loads(done.stdout)
    assert [node_accelerator({"nvidia.com/gpu.product": v}) for v in GFD_VALUES] == expected["gfd"]
    assert [node_accelerator({"cloud.google.com/gke-accelerator": v}) for v in GKE_VALUES] == expected["gke"]
    karpenter = [node_accelerator({"karpenter.k8s.aws/instance-gpu-name": v}) for v in cases["karpenter"]]
    assert karpenter == expected["karpenter"]
    assert [node_accelerator({"skypilot.co/accelerator": v}) for v in cases["skypilot"]] == expected[
        "skypilot"
    ]


def test_label_precedence_follows_skypilots_registry_order() -> None:
    labels = {"nvidia.com/gpu.product": "NVIDIA-L4", "cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}
    assert node_accelerator(labels) == "T4"
    assert node_accelerator({"skypilot.co/accelerator": "a100", **labels}) == "A100"
    assert (
        node_accelerator({"cloud.google.com/gke-tpu-accelerator": "tpu-v5-lite-podslice"})
        == "tpu-v5-lite-podslice"
    )
    assert node_accelerator({}) == ""


# --- quantities parse as the official client's own parser reads them (it is the oracle) ---

VALID_QUANTITIES = [
    "4",
    "500m",
    "0.5",
    "16Gi",
    "1536Mi",
    "713031680Ki",
    "1e3",
    "2E2",
    "1.5k",
    "100M",
    "1G",
    "3Ti",
    "250n",
    "7u",
    "1E",
    ".5",
    "+2",
    "0",
]


@pytest.mark.parametrize("text", VALID_QUANTITIES)
def test_quantities_match_the_official_client(text: str) -> None:
    assert parse_quantity(text) == pytest.approx(float(oracle(text)))  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("value", ["", "abc", "1Q", "Gi", "1..2", None, True, [], {"a": 1}, float("inf")])
def test_anything_else_is_no_quantity(value: Any) -> None:
    assert parse_quantity(value) is None


def test_numbers_pass_through_as_quantities() -> None:
    assert parse_quantity(8) == 8.0
    assert parse_quantity(0.25) == 0.25

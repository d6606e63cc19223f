"""What the simulated fleet can run on: instance shapes, locations, and service templates.

Shapes use the numbers of SkyPilot's v8 catalogs (vCPUs, MemoryGiB, accelerators) so the
resource strings look like the real ones and can be priced later from the same catalogs.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Shape:
    """One launchable machine type on one cloud; ``instance_type`` is None on Kubernetes."""

    cloud: str
    instance_type: str | None
    accelerator: str | None
    accelerator_count: int
    vcpus: float
    memory_gb: float


@dataclass(frozen=True)
class Location:
    """A region and its zones; Azure and Kubernetes/SSH have no zones."""

    cloud: str
    region: str
    zones: tuple[str, ...] = ()


@dataclass(frozen=True)
class Template:
    """The kind of service: what model it serves and what hardware it asks for."""

    name: str
    shape_class: str
    port: int
    nodes: int
    spot_fraction: float
    disk_size: int
    image_id: str | None
    load_balancing_policy: str
    tls: bool
    autoscaling: bool
    model: str


SPOT_CLOUDS = frozenset({"AWS", "GCP", "Azure"})

# Placement weights per cloud: most of the fleet on the big three, some on owned hardware.
CLOUD_WEIGHTS: dict[str, float] = {"AWS": 0.35, "GCP": 0.25, "Azure": 0.15, "Kubernetes": 0.15, "SSH": 0.10}

LOCATIONS: tuple[Location, ...] = (
    Location("AWS", "us-east-1", ("us-east-1a", "us-east-1b", "us-east-1c")),
    Location("AWS", "us-east-2", ("us-east-2a", "us-east-2b", "us-east-2c")),
    Location("AWS", "us-west-2", ("us-west-2a", "us-west-2b", "us-west-2c")),
    Location("AWS", "eu-west-1", ("eu-west-1a", "eu-west-1b")),
    Location("GCP", "us-central1", ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f")),
    Location("GCP", "us-east4", ("us-east4-a", "us-east4-c")),
    Location("GCP", "europe-west4", ("europe-west4-a", "europe-west4-b", "europe-west4-c")),
    Location("GCP", "asia-northeast1", ("asia-northeast1-a", "asia-northeast1-c")),
    Location("Azure", "eastus"),
    Location("Azure", "westus3"),
    Location("Azure", "westeurope"),
    Location("Azure", "southcentralus"),
    # Kubernetes regions are kubeconfig context names; long ones exercise SkyPilot's truncation.
    Location("Kubernetes", "onprem-gpu"),
    Location("Kubernetes", "gke-prod"),
    Location("Kubernetes", "gke_acme-ml-prod_us-central1-a_inference-gpu"),
    Location("Kubernetes", "arn:aws:eks:us-west-2:123456789012:cluster/serving"),
    # SSH node pools appear as region ``ssh-<pool>``.
    Location("SSH", "ssh-pool1"),
    Location("SSH", "ssh-gpu-rack-a"),
    Location("SSH", "ssh-hetzner-fsn1-gex130-cluster"),
)


def _k8s(cloud: str, accelerator: str | None, count: int, vcpus: float, mem: float) -> Shape:
    return Shape(cloud, None, accelerator, count, vcpus, mem)


def _on_owned(accelerator: str | None, count: int, vcpus: float, mem: float) -> tuple[Shape, ...]:
    """The same pod/box shape on a Kubernetes context and on an SSH node pool."""
    return (_k8s("Kubernetes", accelerator, count, vcpus, mem), _k8s("SSH", accelerator, count, vcpus, mem))


SHAPES: dict[str, tuple[Shape, ...]] = {
    "small_gpu": (
        Shape("AWS", "g6.xlarge", "L4", 1, 4, 16),
        Shape("AWS", "g5.xlarge", "A10G", 1, 4, 16),
        Shape("AWS", "g6e.xlarge", "L40S", 1, 4, 32),
        Shape("GCP", "g2-standard-8", "L4", 1, 8, 32),
        Shape("Azure", "Standard_NV36ads_A10_v5", "A10", 1, 36, 440),
        *_on_owned("L4", 1, 4, 16),
    ),
    "a100_single": (
        Shape("GCP", "a2-highgpu-1g", "A100", 1, 12, 85),
        Shape("Azure", "Standard_NC24ads_A100_v4", "A100-80GB", 1, 24, 220),
        Shape("AWS", "g6e.xlarge", "L40S", 1, 4, 32),
        *_on_owned("A100", 1, 8, 32),
    ),
    "big_gpu": (
        Shape("AWS", "p4d.24xlarge", "A100", 8, 96, 1152),
        Shape("AWS", "p5.48xlarge", "H100", 8, 192, 2048),
        Shape("GCP", "a2-highgpu-8g", "A100", 8, 96, 680),
        Shape("GCP", "a3-highgpu-8g", "H100", 8, 208, 1872),
        Shape("Azure", "Standard_ND96asr_v4", "A100", 8, 96, 900),
        *_on_owned("H100", 8, 64, 512),
    ),
    "t4": (
        Shape("AWS", "g4dn.xlarge", "T4", 1, 4, 16),
        Shape("GCP", "n1-standard-4", "T4", 1, 4, 15),
        Shape("Azure", "Standard_NC4as_T4_v3", "T4", 1, 4, 28),
        *_on_owned("T4", 1, 4, 16),
    ),
    "cpu": (
        Shape("AWS", "m6i.2xlarge", None, 0, 8, 32),
        Shape("GCP", "n2-standard-8", None, 0, 8, 32),
        Shape("Azure", "Standard_D8s_v5", None, 0, 8, 32),
        *_on_owned(None, 0, 8, 32),
    ),
}

TEMPLATES: tuple[Template, ...] = (
    Template(
        "llama3-8b",
        "small_gpu",
        8080,
        1,
        0.6,
        256,
        None,
        "least_load",
        False,
        True,
        "meta-llama/Meta-Llama-3-8B-Instruct",
    ),
    Template(
        "llama3-70b",
        "big_gpu",
        8000,
        1,
        0.2,
        1024,
        None,
        "least_load",
        False,
        True,
        "meta-llama/Meta-Llama-3-70B-Instruct",
    ),
    Template(
        "bge-embed", "cpu", 8080, 1, 0.5, 256, None, "round_robin", False, False, "BAAI/bge-large-en-v1.5"
    ),
    Template(
        "qwen2-72b",
        "big_gpu",
        8000,
        2,
        0.0,
        1024,
        None,
        "instance_aware_least_load",
        False,
        False,
        "Qwen/Qwen2-72B-Instruct",
    ),
    Template(
        "whisper-asr", "t4", 9000, 1, 0.7, 256, None, "least_load", True, True, "openai/whisper-large-v3"
    ),
    Template(
        "sdxl-turbo",
        "small_gpu",
        7860,
        1,
        0.4,
        512,
        "docker:vllm/vllm-openai:v0.6.3",
        "least_load",
        False,
        True,
        "stabilityai/sdxl-turbo",
    ),
    Template(
        "mistral-7b",
        "a100_single",
        8080,
        1,
        0.5,
        256,
        None,
        "least_load",
        False,
        True,
        "mistralai/Mistral-7B-Instruct-v0.3",
    ),
)


def locations_for(cloud: str) -> tuple[Location, ...]:
    return tuple(loc for loc in LOCATIONS if loc.cloud == cloud)

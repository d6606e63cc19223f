"""What the simulated Kubernetes clusters are made of: one profile per managed flavour, node pools, workloads.

Instance types, regions and GPU counts are ones the demo's v8 catalogs price, so the exporter's
cost metrics have numbers in ``--demo``; labels are the ones each provider really sets.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NodePool:
    name: str
    instance_type: str  # "" for owned hardware
    cpus: int
    memory_gib: int
    gpus: int
    labels: dict[str, str] = field(default_factory=dict)  # pool-specific (accelerator, spot)
    weight: float = 1.0  # share of the cluster's nodes


@dataclass(frozen=True)
class ClusterProfile:
    """One flavour of cluster: how its nodes are named, placed and labelled."""

    flavour: str  # gke | eks | aks | onprem
    context: str
    region: str
    zones: tuple[str, ...]
    provider_id: str  # format with node name, zone and index; "" for none
    labels: dict[str, str]  # on every node
    pools: tuple[NodePool, ...]


@dataclass(frozen=True)
class Workload:
    """A Deployment or StatefulSet serving one model."""

    name: str
    kind: str  # Deployment | StatefulSet
    namespace: str
    gpus: int
    cpu: str
    memory: str
    image: str
    port: int
    name_label: bool  # carries app.kubernetes.io/name (else the owner name is the service name)
    skypilot: bool = False  # created by SkyPilot (labelled skypilot-cluster-name)
    weight: float = 1.0  # share of the pods


_GKE_SPOT = {"cloud.google.com/gke-spot": "true"}
_A100_40GB = {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"}

PROFILES: tuple[ClusterProfile, ...] = (
    ClusterProfile(
        flavour="gke",
        context="gke_acme-ml_us-central1_serving",
        region="us-central1",
        zones=("us-central1-a", "us-central1-b", "us-central1-c"),
        provider_id="gce://acme-ml/{zone}/{name}",
        labels={"cloud.google.com/gke-os-distribution": "cos", "cloud.google.com/machine-family": "g2"},
        pools=(
            NodePool(
                "a100x8",
                "a2-highgpu-8g",
                96,
                680,
                8,
                {"cloud.google.com/gke-accelerator": "nvidia-tesla-a100"},
                6,
            ),
            NodePool(
                "l4-spot",
                "g2-standard-8",
                8,
                32,
                1,
                {"cloud.google.com/gke-accelerator": "nvidia-l4", **_GKE_SPOT},
                1,
            ),
            NodePool("cpu", "n2-standard-8", 8, 32, 0, {}, 1),
        ),
    ),
    ClusterProfile(
        flavour="eks",
        context="arn:aws:eks:us-east-2:123456789012:cluster/serving",
        region="us-east-2",
        zones=("us-east-2a", "us-east-2b", "us-east-2c"),
        provider_id="aws:///{zone}/i-0{index:016x}",
        labels={"eks.amazonaws.com/nodegroup-image": "ami-0abc", "kubernetes.io/os": "linux"},
        pools=(
            NodePool(
                "p4d",
                "p4d.24xlarge",
                96,
                1152,
                8,
                {"eks.amazonaws.com/capacityType": "ON_DEMAND", **_A100_40GB},
                6,
            ),
            NodePool(
                "g6-karpenter",
                "g6.xlarge",
                4,
                16,
                1,
                {"karpenter.sh/capacity-type": "spot", "karpenter.k8s.aws/instance-gpu-name": "l4"},
                1,
            ),
            NodePool("cpu", "m6i.2xlarge", 8, 32, 0, {"eks.amazonaws.com/capacityType": "ON_DEMAND"}, 1),
        ),
    ),
    ClusterProfile(
        flavour="aks",
        context="aks-westus3-serving",
        region="westus3",
        zones=("westus3-1", "westus3-2", "westus3-3"),
        provider_id=(
            "azure:///subscriptions/0000/resourceGroups/mc_serving/providers/Microsoft.Compute/"
            "virtualMachineScaleSets/aks-{pool}/virtualMachines/{index}"
        ),
        labels={"kubernetes.azure.com/cluster": "mc_serving", "kubernetes.azure.com/role": "agent"},
        pools=(
            NodePool("a100x8", "Standard_ND96asr_v4", 96, 900, 8, _A100_40GB, 6),
            NodePool(
                "a100spot",
                "Standard_NC24ads_A100_v4",
                24,
                220,
                1,
                {
                    "kubernetes.azure.com/scalesetpriority": "spot",
                    "nvidia.com/gpu.product": "NVIDIA-A100-80GB-PCIe",
                },
                1,
            ),
            NodePool("cpu", "Standard_D8s_v5", 8, 32, 0, {}, 1),
        ),
    ),
    ClusterProfile(
        flavour="onprem",
        context="onprem-gpu",
        region="",
        zones=("rack-a", "rack-b"),
        provider_id="",
        labels={"node.kubernetes.io/exclude-from-external-load-balancers": "true"},
        pools=(
            NodePool("l4x8", "", 64, 512, 8, {"nvidia.com/gpu.product": "NVIDIA-L4"}, 6),
            # GPU Feature Discovery names these H100-80GB, which the demo's rates do not list: the
            # demo shows unpriced replicas too.
            NodePool("h100x8", "", 128, 1024, 8, {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}, 1),
            NodePool("cpu", "", 32, 128, 0, {}, 1),
        ),
    ),
)

_VLLM = "vllm/vllm-openai:v0.6.3"
_KSERVE = "kserve/huggingfaceserver:v0.13"
_TGI = "ghcr.io/huggingface/text-generation-inference:2.3"
_TEI = "ghcr.io/huggingface/text-embeddings-inference:1.5"

WORKLOADS: tuple[Workload, ...] = (
    Workload("vllm-llama3-8b", "Deployment", "serving", 1, "6", "24Gi", _VLLM, 8000, True, weight=3),
    Workload("vllm-mistral-7b", "Deployment", "serving", 1, "6", "24Gi", _VLLM, 8000, True, weight=2),
    Workload("kserve-qwen2-7b-predictor", "Deployment", "kserve", 1, "4", "16Gi", _KSERVE, 8080, False),
    Workload("tgi-llama3-70b", "StatefulSet", "serving", 4, "24", "160Gi", _TGI, 80, True, weight=0.5),
    Workload("bge-embed", "Deployment", "serving", 0, "2", "8Gi", _TEI, 80, True, weight=3),
    Workload("llm-router", "Deployment", "serving", 0, "1", "2Gi", _VLLM, 8080, True, weight=4),
    Workload("sky-llama-svc", "Deployment", "skypilot", 1, "4", "16Gi", _VLLM, 8080, False, skypilot=True),
)

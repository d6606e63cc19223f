"""What a node offers and a pod requests, and where a node runs: quantities, amounts, accelerators, placement.

Resource quantities (``500m``, ``16Gi``) become floats; a pod's requests and a node's capacity
become ``Amounts`` (CPU, memory, accelerator devices); a node's labels and provider ID become its
``NodePlacement`` (cloud, region, zone, instance type, accelerator, spot), in the names SkyPilot
and the price book use.
"""

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

# --- Kubernetes resource quantities (``500m``, ``16Gi``, ``1e3``) as floats ------------------------
# The grammar is apimachinery's ``resource.Quantity``: a signed decimal number, then a binary suffix
# (``Ki`` .. ``Ei``), a decimal suffix (``n u m k M G T P E``) or a decimal exponent (``e3``). The
# official client's ``kubernetes.utils.parse_quantity`` does the same with ``Decimal``; this version
# returns a float and None instead of raising, since a collection reads thousands of them and a bad
# one only makes a record unpriceable.

_QUANTITY: Final = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?")
_BINARY: Final = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL: Final = {
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
}
GIB: Final = float(2**30)


def parse_quantity(value: Any) -> float | None:
    """The quantity's value in base units (cores, bytes, devices); None when it is not a quantity."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    match = _QUANTITY.fullmatch(value.strip())
    if match is None:
        return None
    number, suffix = float(match.group(1)), match.group(2)
    if suffix is None:
        return number
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    return number * 10.0 ** int(suffix[1:])


# --- accelerator names from node labels, in SkyPilot's canonical spelling so the price book finds them
# The rules are SkyPilot 0.14's label formatters (``sky/provision/kubernetes/utils.py``), tried in its
# registry order: ``skypilot.co/accelerator`` (upper-cased), GKE's ``cloud.google.com/gke-accelerator``
# (``nvidia-tesla-t4`` -> ``T4``, ``nvidia-h100-80gb`` -> ``H100``) and ``gke-tpu-accelerator``,
# Karpenter's ``karpenter.k8s.aws/instance-gpu-name`` (upper-cased), then NVIDIA GPU Feature
# Discovery's ``nvidia.com/gpu.product`` matched against SkyPilot's canonical GPU list
# (``NVIDIA-A100-SXM4-80GB`` -> ``A100-80GB``, ``Tesla-T4`` -> ``T4``).

SKYPILOT_LABEL: Final = "skypilot.co/accelerator"
GKE_GPU_LABEL: Final = "cloud.google.com/gke-accelerator"
GKE_TPU_LABEL: Final = "cloud.google.com/gke-tpu-accelerator"
KARPENTER_GPU_LABEL: Final = "karpenter.k8s.aws/instance-gpu-name"
GFD_PRODUCT_LABEL: Final = "nvidia.com/gpu.product"

# Device-plugin resources a pod requests accelerators with.
ACCELERATOR_RESOURCES: Final = ("nvidia.com/gpu", "amd.com/gpu", "google.com/tpu")

# sky/utils/gpu_names.py CANONICAL_GPU_NAMES: more specific names first (L40S before L40 before L4).
CANONICAL_GPU_NAMES: Final = (
    "GB300", "GB200", "B300", "B200", "B100",
    "GH200", "H200", "H100-80GB", "H100-MEGA", "H100",
    "A100-80GB", "A100", "A10G", "A10", "A16", "A30", "A40",
    "RTX6000-Ada", "L40S", "L40", "L4",
    "A6000", "A5000", "A4000",
    "V100-32GB", "V100", "P100", "P40", "P4000", "P4", "T4g", "T4", "K80", "M60",
)  # fmt: skip
_CANONICAL_PATTERNS: Final = tuple(
    (name, re.compile(rf"\b{re.escape(name)}\b")) for name in CANONICAL_GPU_NAMES
)
_A100_80GB: Final = re.compile(r"A100.*-80GB")
_H100_80GB: Final = re.compile(r"H100.*-80GB")


def node_accelerator(labels: Mapping[str, str]) -> str:
    """The node's accelerator name, or "" when its labels name none."""
    value = labels.get(SKYPILOT_LABEL)
    if value:
        return value.upper()
    value = labels.get(GKE_GPU_LABEL)
    if value:
        return gke_accelerator(value)
    value = labels.get(GKE_TPU_LABEL)
    if value:
        return value
    value = labels.get(KARPENTER_GPU_LABEL)
    if value:
        return value.upper()
    value = labels.get(GFD_PRODUCT_LABEL)
    return gfd_accelerator(value) if value else ""


def gke_accelerator(value: str) -> str:
    """GKELabelFormatter.get_accelerator_from_label_value; an unknown pattern is kept as it is."""
    if value.startswith("nvidia-tesla-"):
        return value.removeprefix("nvidia-tesla-").upper()
    if value.startswith("nvidia-"):
        name = value.removeprefix("nvidia-").upper()
        return {"H100-80GB": "H100", "H200-141GB": "H200"}.get(name, name)
    return value


def gfd_accelerator(value: str) -> str:
    """GFDLabelFormatter.get_accelerator_from_label_value."""
    for name, pattern in _CANONICAL_PATTERNS:
        if name == "A100-80GB" and _A100_80GB.search(value):
            return name
        if name == "H100-80GB" and _H100_80GB.search(value):
            return name
        if pattern.search(value):
            return name
    return value.upper().replace("NVIDIA-", "").replace("GEFORCE-", "").replace("RTX-", "RTX")


# --- what a pod requests and what a node offers: CPU, memory and accelerator devices ---------------
# A pod's effective request follows the scheduler (``resource.PodRequests``): the sum over its
# containers, or the largest init container if that is more, plus the pod overhead. A container
# that sets only a limit requests that limit (the API server's defaulting, repeated here for
# objects written before it ran).

_CPU, _MEMORY = "cpu", "memory"


@dataclass(frozen=True, slots=True)
class Amounts:
    """CPU cores, memory in GiB and accelerator devices; None where the object did not say."""

    cpus: float | None = None
    memory_gib: float | None = None
    accelerators: float = 0.0


def pod_requests(spec: Mapping[str, Any]) -> Amounts:
    totals = _sum(_container_requests(c) for c in _list(spec.get("containers")))
    for init in _list(spec.get("initContainers")):
        totals = _max(totals, _container_requests(init))
    overhead = spec.get("overhead")
    if isinstance(overhead, dict):
        totals = _sum((totals, _amounts(overhead)))
    return totals


def node_amounts(resources: Any) -> Amounts:
    """A node's ``status.capacity`` or ``status.allocatable``."""
    return _amounts(resources) if isinstance(resources, dict) else Amounts()


def _container_requests(container: Any) -> Amounts:
    resources = container.get("resources") if isinstance(container, dict) else None
    if not isinstance(resources, dict):
        return Amounts()
    requests = resources.get("requests")
    limits = resources.get("limits")
    merged = dict(limits) if isinstance(limits, dict) else {}
    if isinstance(requests, dict):
        merged.update(requests)
    return _amounts(merged)


def _amounts(resources: Mapping[str, Any]) -> Amounts:
    memory = parse_quantity(resources[_MEMORY]) if _MEMORY in resources else None
    devices = [parse_quantity(resources[key]) for key in ACCELERATOR_RESOURCES if key in resources]
    return Amounts(
        cpus=parse_quantity(resources[_CPU]) if _CPU in resources else None,
        memory_gib=None if memory is None else memory / GIB,
        accelerators=sum(count for count in devices if count is not None),
    )


def _sum(parts: Iterable[Amounts]) -> Amounts:
    cpus: float | None = None
    memory: float | None = None
    devices = 0.0
    for part in parts:
        cpus = _add(cpus, part.cpus)
        memory = _add(memory, part.memory_gib)
        devices += part.accelerators
    return Amounts(cpus, memory, devices)


def _max(a: Amounts, b: Amounts) -> Amounts:
    return Amounts(
        cpus=_larger(a.cpus, b.cpus),
        memory_gib=_larger(a.memory_gib, b.memory_gib),
        accelerators=max(a.accelerators, b.accelerators),
    )


def _add(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else a + b


def _larger(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else max(a, b)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- where a node runs: cloud from ``spec.providerID``, location and machine from well-known labels
# - cloud: the ``providerID`` scheme (``aws://``, ``gce://``, ``azure://`` ...); without a providerID,
#   labels only a managed cluster's nodes carry; otherwise ``kubernetes``.
# - region, zone: ``topology.kubernetes.io/region`` and ``zone`` (then the deprecated
#   ``failure-domain.beta`` labels); on ``kubernetes`` the region is the context name, as in SkyServe.
# - instance type: ``node.kubernetes.io/instance-type`` (then ``beta.kubernetes.io/instance-type``).
# - spot: any of ``SPOT_LABELS`` (EKS, Karpenter, GKE spot and preemptible, AKS, kops).
# - accelerator: ``node_accelerator`` above.
#
# A node whose cloud is not known (kind, k3s, bare metal) is ``kubernetes``, as SkyServe reports
# replicas on Kubernetes, and is priced from ``pricing.kubernetes`` rates for its context.

KUBERNETES_CLOUD: Final = "kubernetes"

# providerID scheme -> the cloud name SkyPilot (and this exporter's cloud label) uses.
PROVIDER_CLOUDS: Final = {
    "aws": "aws",
    "gce": "gcp",
    "azure": "azure",
    "oci": "oci",
    "ibm": "ibm",
    "digitalocean": "do",
    "linode": "linode",
    "hcloud": "hetzner",
    "vsphere": "vsphere",
    "openstack": "openstack",
    "scaleway": "scaleway",
    "equinixmetal": "equinix",
    "vultr": "vultr",
    "civo": "civo",
}
# Labels only a managed cluster's nodes carry, for nodes registered without a providerID.
MANAGED_LABEL_PREFIXES: Final = (
    ("eks.amazonaws.com/", "aws"),
    ("cloud.google.com/gke-", "gcp"),
    ("kubernetes.azure.com/", "azure"),
)

REGION_LABELS: Final = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")
ZONE_LABELS: Final = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
INSTANCE_TYPE_LABELS: Final = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")

# label -> the values (lower-cased) that mean spot or preemptible capacity.
SPOT_LABELS: Final = {
    "eks.amazonaws.com/capacityType": frozenset({"spot"}),  # EKS managed node groups
    "karpenter.sh/capacity-type": frozenset({"spot"}),  # Karpenter (any cloud)
    "cloud.google.com/gke-spot": frozenset({"true"}),  # GKE Spot VMs
    "cloud.google.com/gke-preemptible": frozenset({"true"}),  # GKE preemptible VMs
    "cloud.google.com/gke-provisioning": frozenset({"spot", "preemptible"}),
    "kubernetes.azure.com/scalesetpriority": frozenset({"spot"}),  # AKS spot node pools
    "node.kubernetes.io/lifecycle": frozenset({"spot"}),  # kops, eksctl unmanaged groups
}


@dataclass(frozen=True, slots=True)
class NodePlacement:
    cloud: str
    region: str
    zone: str
    instance_type: str
    accelerator: str
    spot: bool


def node_placement(labels: Mapping[str, str], provider_id: str, context: str) -> NodePlacement:
    cloud = cloud_of(provider_id, labels)
    return NodePlacement(
        cloud=cloud,
        region=context if cloud == KUBERNETES_CLOUD else _first(labels, REGION_LABELS),
        zone=_first(labels, ZONE_LABELS),
        instance_type=_first(labels, INSTANCE_TYPE_LABELS),
        accelerator=node_accelerator(labels),
        spot=is_spot(labels),
    )


def cloud_of(provider_id: str, labels: Mapping[str, str]) -> str:
    scheme, sep, _ = provider_id.partition("://")
    if sep:
        return PROVIDER_CLOUDS.get(scheme.strip().lower(), KUBERNETES_CLOUD)
    for prefix, cloud in MANAGED_LABEL_PREFIXES:
        if any(key.startswith(prefix) for key in labels):
            return cloud
    return KUBERNETES_CLOUD


def is_spot(labels: Mapping[str, str]) -> bool:
    return any(labels.get(key, "").strip().lower() in values for key, values in SPOT_LABELS.items())


def _first(labels: Mapping[str, str], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = labels.get(key)
        if value:
            return value
    return ""

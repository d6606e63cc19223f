"""Accelerator names from node labels, in SkyPilot's canonical spelling so the price book finds them.

The rules are SkyPilot 0.14's label formatters (``sky/provision/kubernetes/utils.py``), tried in its
registry order: ``skypilot.co/accelerator`` (upper-cased), GKE's ``cloud.google.com/gke-accelerator``
(``nvidia-tesla-t4`` -> ``T4``, ``nvidia-h100-80gb`` -> ``H100``) and ``gke-tpu-accelerator``,
Karpenter's ``karpenter.k8s.aws/instance-gpu-name`` (upper-cased), then NVIDIA GPU Feature
Discovery's ``nvidia.com/gpu.product`` matched against SkyPilot's canonical GPU list
(``NVIDIA-A100-SXM4-80GB`` -> ``A100-80GB``, ``Tesla-T4`` -> ``T4``).
"""

import re
from collections.abc import Mapping
from typing import Final

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

"""Where a node runs: cloud from ``spec.providerID``, location and machine from well-known labels.

- cloud: the ``providerID`` scheme (``aws://``, ``gce://``, ``azure://`` ...); without a providerID,
  labels only a managed cluster's nodes carry; otherwise ``kubernetes``.
- region, zone: ``topology.kubernetes.io/region`` and ``zone`` (then the deprecated
  ``failure-domain.beta`` labels); on ``kubernetes`` the region is the context name, as in SkyServe.
- instance type: ``node.kubernetes.io/instance-type`` (then ``beta.kubernetes.io/instance-type``).
- spot: any of ``SPOT_LABELS`` (EKS, Karpenter, GKE spot and preemptible, AKS, kops).
- accelerator: ``accelerators.node_accelerator``.

A node whose cloud is not known (kind, k3s, bare metal) is ``kubernetes``, as SkyServe reports
replicas on Kubernetes, and is priced from ``pricing.kubernetes`` rates for its context.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from collectors.kubernetes.accelerators import node_accelerator

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

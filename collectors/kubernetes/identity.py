"""Which service a pod serves: the configured label, else the workload that owns it.

The owner is the controlling ``ownerReference``: a StatefulSet (or any other controller) by its
name, a ReplicaSet by its Deployment's name, i.e. without the ``-<pod-template-hash>`` suffix.
"""

from collections.abc import Mapping
from typing import Any, Final

POD_TEMPLATE_HASH_LABEL: Final = "pod-template-hash"
VERSION_LABEL: Final = "app.kubernetes.io/version"


def service_name(labels: Mapping[str, str], owners: Any, service_label: str) -> str:
    """The service name, or "" when neither the label nor an owner names one."""
    name = labels.get(service_label, "").strip()
    if name:
        return name
    owner = _controller(owners)
    if owner is None:
        return ""
    kind, owner_name = owner
    if kind == "ReplicaSet":
        return deployment_of(owner_name, labels.get(POD_TEMPLATE_HASH_LABEL, ""))
    return owner_name


def deployment_of(replica_set: str, template_hash: str) -> str:
    """``llama-7d9f8b6c5`` -> ``llama``; a ReplicaSet not made by a Deployment keeps its name."""
    if template_hash and replica_set.endswith(f"-{template_hash}"):
        return replica_set.removesuffix(f"-{template_hash}")
    return replica_set


def _controller(owners: Any) -> tuple[str, str] | None:
    if not isinstance(owners, list):
        return None
    found = [o for o in owners if isinstance(o, dict) and isinstance(o.get("name"), str) and o["name"]]
    chosen = next((o for o in found if o.get("controller") is True), found[0] if found else None)
    if chosen is None:
        return None
    kind = chosen.get("kind")
    return (kind if isinstance(kind, str) else "", chosen["name"])

"""Where a replica runs and on what, read from SkyServe's display strings.

``resources_str_full`` comes from SkyPilot's ``resources_utils.format_resource``:
``{nodes}x[spot]({components})`` where the components are, in order, ``gpus=NAME:COUNT``,
``cpus=N``, ``mem=N``, the bare instance type (absent on Kubernetes), then ``image_id=...``,
``disk=N``, ``disk_tier=...``, ``ports=[...]``. The simplified form ends in ``...`` and cuts long
instance types to 15 characters with a trailing ``...``.

``infra`` comes from ``InfraInfo.formatted_str``: ``{cloud} ({zone or region})`` with the part in
parentheses cut in the middle to 25 characters (``us-ea...st-2a``) when longer.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_RESOURCES = re.compile(r"\s*(\d+)x\s*(\[spot\])?\s*[A-Za-z0-9_-]*\s*\((.*)\)\s*", re.IGNORECASE | re.DOTALL)
_INFRA = re.compile(r"[^()]*\((.*)\)\s*", re.DOTALL)
_TRUNCATION = "..."
_TRUNCATED_LENGTH = 25
# Clouds whose parenthesised infra text is a context or pool name, never a zone.
_ZONELESS_CLOUDS = frozenset({"kubernetes", "ssh"})
_OPEN = "([{"
# One component: plain characters, or a bracketed group (one level deep, as SkyPilot writes them).
_COMPONENT = re.compile(r"(?:[^,\[{(]|\[[^\]]*\]|\{[^}]*\}|\([^)]*\))+")


@dataclass(frozen=True, slots=True)
class Resources:
    """What ``resources_str_full`` says; empty strings and None where it says nothing."""

    nodes: int | None = None
    spot: bool = False
    accelerator: str = ""
    accelerators_per_node: float | None = None
    instance_type: str = ""
    cpus: float | None = None
    memory_gib: float | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """A replica's cloud, location and hardware; empty strings where SkyServe has not said yet."""

    cloud: str = ""
    region: str = ""
    zone: str = ""
    resources: Resources = Resources()

    @property
    def accelerators_total(self) -> float | None:
        per_node, nodes = self.resources.accelerators_per_node, self.resources.nodes
        return None if per_node is None or nodes is None else per_node * nodes


PlacementKey = tuple[str, str, str, str]


def placement_key(replica: Mapping[str, Any]) -> PlacementKey:
    """The four strings a placement is read from; replicas of one service usually share them."""
    return (
        _text(replica.get("cloud")),
        _text(replica.get("region")),
        _text(replica.get("infra")),
        _text(replica.get("resources_str_full")),
    )


def placement_of(key: PlacementKey) -> Placement:
    """The placement the strings describe; absent keys (a PENDING replica) give empty fields."""
    cloud_text, region, infra, resources = key
    cloud = cloud_text.lower()
    return Placement(
        cloud=cloud,
        region=region,
        zone=zone_from_infra(infra, cloud, region),
        resources=parse_resources(resources),
    )


def zone_from_infra(infra: str, cloud: str, region: str) -> str:
    """The zone shown in ``infra``, only when it is certainly one.

    It must be whole (not cut with ``...``), differ from the region and start with it, as zones do on
    AWS (``us-east-2a``) and GCP (``us-central1-a``). Anything else (a region, a Kubernetes context, an
    SSH pool, a truncated name, a zone naming scheme we do not know) gives "" rather than a guess.
    """
    if cloud in _ZONELESS_CLOUDS or not region:
        return ""
    match = _INFRA.fullmatch(infra)
    if match is None:
        return ""
    shown = match.group(1).strip()
    if _TRUNCATION in shown or len(shown) > _TRUNCATED_LENGTH:
        return ""
    return shown if shown != region and shown.startswith(region) else ""


def parse_resources(text: str) -> Resources:
    """Read a ``resources_str_full`` string; an unrecognised one gives an empty ``Resources``."""
    match = _RESOURCES.fullmatch(text)
    if match is None:
        return Resources()
    fields: dict[str, Any] = {"nodes": int(match.group(1)), "spot": match.group(2) is not None}
    for component in split_top_level(match.group(3)):
        fields.update(_component(component, has_instance_type="instance_type" in fields))
    return Resources(**fields)


def split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets: ``ports=['80', '443']`` and image_id dicts stay whole."""
    return [part.strip() for part in _COMPONENT.findall(text) if part.strip()]


def _component(component: str, has_instance_type: bool) -> dict[str, Any]:
    key, sep, value = component.partition("=")
    if sep:
        return _keyed(key.strip(), value.strip())
    if has_instance_type or component.endswith(_TRUNCATION) or component[0] in _OPEN:
        return {}
    return {"instance_type": component}


def _keyed(key: str, value: str) -> dict[str, Any]:
    if key == "gpus":
        name, _, count = value.rpartition(":")
        per_node = _number(count)
        if not name or per_node is None:
            return {"accelerator": value, "accelerators_per_node": None}
        return {"accelerator": name, "accelerators_per_node": per_node}
    if key == "cpus":
        return {"cpus": _number(value)}
    if key == "mem":
        return {"memory_gib": _number(value)}
    return {}


def _number(text: str) -> float | None:
    try:
        return float(text.rstrip("+"))
    except ValueError:
        return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""

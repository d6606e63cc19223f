"""SkyPilot's display strings for a replica's resources and infra, reproduced character for character.

Mirrors skypilot 0.14.1: ``sky/utils/resources_utils.py`` (``format_resource``,
``get_readable_resources_repr``), ``sky/utils/infra_utils.py`` (``InfraInfo.formatted_str``),
``sky/utils/common_utils.py`` (``truncate_long_string``, ``format_float``) and the Kubernetes
instance-type name of ``sky/provision/kubernetes/utils.py``.
"""

from dataclasses import dataclass

from simulator.catalog import Shape

# InfraInfo truncates the region/zone part (not the whole text) past this many characters.
REGION_OR_ZONE_TRUNCATION_LENGTH = 25
INSTANCE_TYPE_SIMPLE_LENGTH = 15


@dataclass(frozen=True)
class Resources:
    """What ``handle.launched_resources`` and ``launched_nodes`` would say for a replica."""

    shape: Shape
    region: str
    zone: str | None
    nodes: int
    spot: bool
    disk_size: int
    image_id: str | None
    port: int


def format_float(num: float) -> str:
    return f"{num:.0f}" if float(num).is_integer() else f"{num:.1f}"


def truncate_middle(text: str, max_length: int) -> str:
    if len(text) <= max_length:
        return text
    kept = max_length - 3
    start, end = kept // 2 + kept % 2, kept // 2
    return text[:start] + "..." + (text[-end:] if end else "")


def truncate_end(text: str, max_length: int) -> str:
    """``truncate_long_string`` for strings without spaces, which instance types are."""
    return text if len(text) <= max_length else text[:max_length] + "..."


def kubernetes_instance_type(shape: Shape) -> str:
    name = f"{format_float(shape.vcpus)}CPU--{format_float(shape.memory_gb)}GB"
    if shape.accelerator_count:
        name += f"--{shape.accelerator}:{shape.accelerator_count}"
    return name


def instance_type(shape: Shape) -> str:
    """Kubernetes and SSH have no cloud instance type: SkyPilot names one from the pod request."""
    return shape.instance_type or kubernetes_instance_type(shape)


def infra_text(cloud: str, region: str, zone: str | None) -> str:
    place = zone if zone is not None else region.removeprefix("ssh-")
    return f"{cloud} ({truncate_middle(place, REGION_OR_ZONE_TRUNCATION_LENGTH)})"


def _elements(res: Resources, full: bool) -> list[str]:
    shape = res.shape
    is_k8s = shape.cloud == "Kubernetes"
    out = [f"gpus={shape.accelerator}:{shape.accelerator_count}"] if shape.accelerator else []
    # Without accelerators (or on Kubernetes) cpus/mem are part of both strings; else only of full.
    if shape.accelerator is None or is_k8s or full:
        out += [f"cpus={format_float(shape.vcpus)}", f"mem={format_float(shape.memory_gb)}"]
    if not is_k8s:
        name = instance_type(shape)
        out.append(name if full else truncate_end(name, INSTANCE_TYPE_SIMPLE_LENGTH))
    if not full:
        return [*out, "..."]
    if res.image_id is not None:
        out.append(f"image_id={res.image_id}")
    return [*out, f"disk={res.disk_size}", f"ports={[str(res.port)]!r}"]


def resources_strings(res: Resources) -> tuple[str, str]:
    """(resources_str, resources_str_full), e.g. ``1x[spot](gpus=L4:1, g6.xlarge, ...)``."""
    spot = "[spot]" if res.spot else ""
    simple = f"{res.nodes}x{spot}({', '.join(_elements(res, full=False))})"
    full = f"{res.nodes}x{spot}({', '.join(_elements(res, full=True))})"
    return simple, full


@dataclass(frozen=True)
class Display:
    """The replica's pre-computed display strings, rendered once at launch rather than per request."""

    resources_str: str
    resources_str_full: str
    infra: str


def describe(res: Resources) -> Display:
    simple, full = resources_strings(res)
    return Display(simple, full, infra_text(res.shape.cloud, res.region, res.zone))

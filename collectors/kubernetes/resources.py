"""What a pod requests and what a node offers: CPU, memory and accelerator devices.

A pod's effective request follows the scheduler (``resource.PodRequests``): the sum over its
containers, or the largest init container if that is more, plus the pod overhead. A container
that sets only a limit requests that limit (the API server's defaulting, repeated here for
objects written before it ran).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from collectors.kubernetes.accelerators import ACCELERATOR_RESOURCES
from collectors.kubernetes.quantity import GIB, parse_quantity

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

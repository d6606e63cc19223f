"""Each listed object cut down to the fields the collector reads, as soon as its page arrives.

A real pod is 5-20 KB of JSON (managed fields, env, volumes, the last-applied annotation) of which
the collector reads a few hundred bytes; keeping only those bounds memory to one page of full
objects at a time. Nothing is validated here: a field of the wrong type is kept as it came, so
that ``records`` sees it and skips and counts the record.
"""

from collections.abc import Iterable
from typing import Any, Final

_POD_METADATA: Final = (
    "name",
    "namespace",
    "labels",
    "ownerReferences",
    "creationTimestamp",
    "deletionTimestamp",
)
_POD_SPEC: Final = ("nodeName", "overhead", "nodeSelector")
_POD_STATUS: Final = ("phase", "reason", "conditions", "startTime")
_CONTAINER_STATUS: Final = ("name", "ready", "started", "state")
_NODE_METADATA: Final = ("name", "labels")
_NODE_SPEC: Final = ("providerID",)
_NODE_STATUS: Final = ("capacity", "allocatable")


def slim_pod(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    spec, status = item.get("spec"), item.get("status")
    slim: dict[str, Any] = {"metadata": _pick(item.get("metadata"), _POD_METADATA)}
    if isinstance(spec, dict):
        slim_spec = _pick(spec, _POD_SPEC)
        for key in ("containers", "initContainers"):
            if key in spec:
                slim_spec[key] = _resources_only(spec[key])
        slim["spec"] = slim_spec
    else:
        slim["spec"] = spec
    if isinstance(status, dict):
        slim_status = _pick(status, _POD_STATUS)
        for key in ("containerStatuses", "initContainerStatuses"):
            if key in status:
                slim_status[key] = _each(status[key], _CONTAINER_STATUS)
        slim["status"] = slim_status
    else:
        slim["status"] = status
    return slim


def slim_node(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    return {
        "metadata": _pick(item.get("metadata"), _NODE_METADATA),
        "spec": _pick(item.get("spec"), _NODE_SPEC),
        "status": _pick(item.get("status"), _NODE_STATUS),
    }


def _pick(value: Any, keys: Iterable[str]) -> Any:
    if not isinstance(value, dict):
        return value
    return {key: value[key] for key in keys if key in value}


def _resources_only(containers: Any) -> Any:
    if not isinstance(containers, list):
        return containers
    return [
        {"resources": container.get("resources")} if isinstance(container, dict) else container
        for container in containers
    ]


def _each(values: Any, keys: Iterable[str]) -> Any:
    keys = tuple(keys)
    return [_pick(value, keys) for value in values] if isinstance(values, list) else values

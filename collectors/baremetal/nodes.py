"""What the collector knows about a node before checking it: identity, placement, price, targets."""

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from collectors.pricing import Price

SOURCE = "baremetal"
SPOT = "false"  # a fixed-price box is never preemptible


@dataclass(frozen=True, slots=True)
class Target:
    """One thing a check contacts: an HTTP(S) GET when ``path`` is set, else a TCP connect."""

    host: str
    port: int
    path: str | None = None  # path and query, starting with "/"
    scheme: str = "http"

    @property
    def is_http(self) -> bool:
        return self.path is not None

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{url_host(self.host)}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}{self.path or ''}"

    def describe(self) -> str:
        return self.url if self.is_http else f"tcp://{url_host(self.host)}:{self.port}"


@dataclass(frozen=True, slots=True)
class HostedReplica:
    """A replica served from a node's port; its id is ``<node>:<port>``."""

    service_name: str
    replica_id: str
    port: int
    check: Target


@dataclass(frozen=True, slots=True)
class Node:
    """A node as configured. ``health`` passes when any of its targets passes."""

    name: str
    address: str
    cloud: str
    region: str
    zone: str
    instance_type: str
    accelerator: str
    accelerator_count: int
    price: Price
    health: tuple[Target, ...]
    replicas: tuple[HostedReplica, ...] = ()
    health_url: str = ""  # as configured, for the probes; empty when checked by TCP

    def targets(self) -> tuple[Target, ...]:
        return (*self.health, *(replica.check for replica in self.replicas))


@dataclass(frozen=True)
class NodeSet:
    """Nodes from one file (or all files), and records left out, by reason."""

    nodes: tuple[Node, ...]
    skipped: Mapping[str, int] = field(default_factory=dict)


def url_host(host: str) -> str:
    """The host as it goes in a URL: IPv6 literals in brackets."""
    try:
        is_v6 = isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)
    except ValueError:
        is_v6 = False
    return f"[{host}]" if is_v6 else host


def replica_id(node_name: str, port: int) -> str:
    return f"{node_name}:{port}"

"""The bare-metal inventory file: strict models, read into ``Node`` records.

Every mistake is reported with the node's index and name and the key, e.g.
``inventory nodes[2] (gpu-box-3).monthly_cost: Input should be greater than or equal to 0``.
"""

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

import pydantic
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from collectors.baremetal.nodes import HostedReplica, Node, NodeSet, Target, replica_id
from collectors.baremetal.strict_yaml import load_yaml
from collectors.pricing import PriceBook

SSH_PORT = 22  # a node with neither a health URL nor replicas is checked by connecting to sshd
_DEFAULT_PORTS = {"http": 80, "https": 443}

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Cost = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Port = Annotated[int, Field(ge=1, le=65535)]
Count = Annotated[int, Field(ge=1)]


class InventoryError(ValueError):
    """An inventory that cannot be used; ``problems`` are ``inventory <where>: <reason>`` lines."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class _Strict(BaseModel):
    # strict: a port written as "8000" or a price as "838" is a mistake worth reporting.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ReplicaEntry(_Strict):
    service_name: Text
    port: Port
    health_path: str | None = None  # absent: a TCP connect to the port

    @field_validator("health_path")
    @classmethod
    def _is_a_path(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("/") or any(c.isspace() for c in value)):
            raise ValueError("must be a URL path starting with '/', without spaces")
        return value


class NodeEntry(_Strict):
    name: Text
    address: Text
    provider: Text
    region: Text
    zone: Text | None = None
    datacenter: Text | None = None  # a provider's name for its zone (Hetzner's fsn1-dc14)
    instance_type: str = ""
    accelerators: dict[Text, Count] = Field(default_factory=dict)
    monthly_cost: Cost | None = None
    hourly_cost: Cost | None = None
    health_url: str | None = None  # absent: TCP connects to the replicas' ports
    replicas: list[ReplicaEntry] = Field(default_factory=list)

    @field_validator("address")
    @classmethod
    def _is_a_host(cls, value: str) -> str:
        return check_address(value)

    @field_validator("accelerators")
    @classmethod
    def _one_kind(cls, value: dict[str, int]) -> dict[str, int]:
        # SkyPilot's accelerators shape: one type per node, with a count.
        if len(value) > 1:
            raise ValueError(
                f"give one accelerator type with its count, got {len(value)}: {', '.join(value)}"
            )
        return value

    @field_validator("replicas")
    @classmethod
    def _one_replica_a_port(cls, value: list[ReplicaEntry]) -> list[ReplicaEntry]:
        # The port is the replica's identity (``<node>:<port>``).
        seen: dict[int, int] = {}
        for index, replica in enumerate(value):
            if replica.port in seen:
                raise ValueError(
                    f"replicas[{index}] uses port {replica.port}, as replicas[{seen[replica.port]}] does"
                )
            seen[replica.port] = index
        return value

    @field_validator("health_url")
    @classmethod
    def _is_http(cls, value: str | None) -> str | None:
        if value is not None:
            health_target(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.monthly_cost is not None and self.hourly_cost is not None:
            raise ValueError("monthly_cost and hourly_cost: give one of them, not both")
        if self.zone is not None and self.datacenter is not None:
            raise ValueError("zone and datacenter: give one of them, not both")
        return self


class InventoryFile(_Strict):
    nodes: list[NodeEntry]


def parse_inventory(text: str) -> NodeSet:
    """The nodes in an inventory document; InventoryError listing every problem."""
    try:
        document = load_yaml(text)
    except ValueError as exc:
        raise InventoryError([f"inventory: {exc}"]) from None
    if not isinstance(document, Mapping):
        raise InventoryError(["inventory: the top level must be a mapping with a 'nodes' list"])
    try:
        entries = InventoryFile.model_validate(document).nodes
    except pydantic.ValidationError as exc:
        raise InventoryError(_problems(exc, document)) from None
    _check_unique_names(entries)
    return NodeSet(nodes=tuple(node_of(entry) for entry in entries))


def node_of(entry: NodeEntry) -> Node:
    accelerator, count = next(iter(entry.accelerators.items()), ("", 0))
    return Node(
        name=entry.name,
        address=entry.address,
        cloud=entry.provider.lower(),
        region=entry.region,
        zone=entry.zone or entry.datacenter or "",
        instance_type=entry.instance_type.strip(),
        accelerator=accelerator,
        accelerator_count=count,
        price=PriceBook.fixed(hourly=entry.hourly_cost, monthly=entry.monthly_cost),
        health=_health(entry),
        replicas=tuple(_replica(entry, replica) for replica in entry.replicas),
        health_url=entry.health_url or "",
    )


def check_address(value: str) -> str:
    """A host name or IP address: no scheme, port, path or credentials."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if any(c in value for c in ":/@?#[]") or any(c.isspace() for c in value):
            raise ValueError("must be a host name or an IP address, without scheme, port or path") from None
    return value


def health_target(url: str) -> Target:
    """The target an http(s) health URL names; ValueError when it is not one."""
    parts = urlsplit(url.strip())
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        # Credentials would end up in logs and in the endpoints handed to probes.
        raise ValueError("must not carry credentials")
    if parts.fragment:
        raise ValueError("must not have a fragment")
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError("has an invalid port") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(host=parts.hostname, port=port, path=path, scheme=parts.scheme)


def _health(entry: NodeEntry) -> tuple[Target, ...]:
    if entry.health_url is not None:
        return (health_target(entry.health_url),)
    ports = dict.fromkeys(replica.port for replica in entry.replicas) or {SSH_PORT: None}
    return tuple(Target(host=entry.address, port=port) for port in ports)


def _replica(entry: NodeEntry, replica: ReplicaEntry) -> HostedReplica:
    return HostedReplica(
        service_name=replica.service_name,
        replica_id=replica_id(entry.name, replica.port),
        port=replica.port,
        check=Target(host=entry.address, port=replica.port, path=replica.health_path),
    )


def _check_unique_names(entries: Sequence[NodeEntry]) -> None:
    first: dict[str, int] = {}
    problems = []
    for index, entry in enumerate(entries):
        if entry.name in first:
            where = f"nodes[{index}] ({entry.name}).name"
            problems.append(f"inventory {where}: already used by nodes[{first[entry.name]}]")
        first.setdefault(entry.name, index)
    if problems:
        raise InventoryError(problems)


def _problems(exc: pydantic.ValidationError, document: Mapping[str, Any]) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            reason = "unknown key"
        lines.append(f"inventory {_where(error['loc'], document)}: {reason}")
    return lines


def _where(loc: tuple[int | str, ...], document: Mapping[str, Any]) -> str:
    """``nodes[2] (gpu-box-3).replicas[0].port`` for pydantic's ``('nodes', 2, 'replicas', 0, 'port')``."""
    text = ""
    for position, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
            if position == 1 and loc[0] == "nodes":
                text += _node_name(document, part)
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


def _node_name(document: Mapping[str, Any], index: int) -> str:
    nodes = document.get("nodes")
    node = nodes[index] if isinstance(nodes, list) and index < len(nodes) else None
    name = node.get("name") if isinstance(node, Mapping) else None
    return f" ({name.strip()})" if isinstance(name, str) and name.strip() else ""

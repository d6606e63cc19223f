"""The two node-file formats read into node records: the exporter's inventory, SkyPilot's SSH node pools.

Both are hand-edited YAML, read strictly: a key given twice is an error, not a silent overwrite.
Every problem is reported with where it is, and all of a file's problems at once.

The inventory is read through strict models; every mistake names its key path in the file, and the
node's name when it has one, e.g. ``nodes.2.monthly_cost: Input should be greater than or equal to 0
(node gpu-box-3)``. The collector puts the config key and the file's path before it.

SkyPilot's SSH node-pool file (``~/.sky/ssh_node_pools.yaml``) has SkyPilot 0.14's shape
(``sky/ssh_node_pools/utils.py::prepare_hosts_info``): a mapping from pool name to ``{hosts: [...],
user, identity_file, password, ...}``, where each host is a string (an IP, or a host name from
~/.ssh/config) or a mapping with ``ip`` and per-host overrides. A host mapping without ``ip`` is
skipped, as SkyPilot skips it. Only the pool names and host addresses are read: users, identity
files and passwords are never kept, logged or exported. Each host becomes a node with
``cloud="ssh"`` and ``region="ssh-<pool>"`` (how SkyServe reports replicas on SSH node pools),
named by its address, checked by a TCP connect to its SSH port, with no price and no replicas.
"""

import ipaddress
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from collectors.baremetal.nodes import HostedReplica, Node, NodeFileError, NodeSet, Target, replica_id
from collectors.pricing import PriceBook
from exporter.config_errors import key_error, validation_problems, yaml_reason
from exporter.ports import Port, url_port

SSH_PORT = 22  # a node with neither a health URL nor replicas is checked by connecting to sshd
_DEFAULT_PORTS = {"http": 80, "https": 443}
SSH_CLOUD = "ssh"
SSH_REGION_PREFIX = "ssh-"  # SkyPilot's context name for a pool: sky/clouds/ssh.py
INVALID_HOST = "invalid_host"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Cost = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=1)]


class InventoryError(NodeFileError):
    """An inventory that cannot be used."""


class SshNodePoolsError(NodeFileError):
    """An SSH node-pool file that cannot be used."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (as SkyPilot's loader for ssh_node_pools.yaml does)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):
                if key in seen:
                    raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)


def _load_yaml(text: str, error: type[NodeFileError]) -> Any:
    """The document; ``error`` saying what is wrong and where."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        raise error([f"not valid YAML: {yaml_reason(exc)}"]) from None


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
                raise key_error(
                    f"{index}.port", f"{replica.port} is the port of replicas.{seen[replica.port]} too"
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
            raise key_error("hourly_cost", "give monthly_cost or hourly_cost, not both")
        if self.zone is not None and self.datacenter is not None:
            raise key_error("datacenter", "give zone or datacenter, not both")
        return self


class InventoryFile(_Strict):
    nodes: list[NodeEntry]


def parse_inventory(text: str) -> NodeSet:
    """The nodes in an inventory document; InventoryError listing every problem."""
    document = _load_yaml(text, InventoryError)
    if not isinstance(document, Mapping):
        raise InventoryError(["the top level must be a mapping with a 'nodes' list"])
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
    port = url_port(parts) or _DEFAULT_PORTS[parts.scheme]
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
            problems.append(
                f"nodes.{index}.name: {entry.name!r} is the name of nodes.{first[entry.name]} too"
            )
        first.setdefault(entry.name, index)
    if problems:
        raise InventoryError(problems)


def _problems(exc: pydantic.ValidationError, document: Mapping[str, Any]) -> list[str]:
    lines = []
    for location, reason in validation_problems(exc):
        path = ".".join(str(part) for part in location)
        lines.append(f"{path or '(top level)'}: {reason}{_node_name(document, location)}")
    return lines


def _node_name(document: Mapping[str, Any], location: tuple[int | str, ...]) -> str:
    """`` (node gpu-box-3)`` for a problem inside ``nodes.2``: in a long inventory the name is
    what the operator searches for."""
    if len(location) < 2 or location[0] != "nodes" or not isinstance(location[1], int):
        return ""
    nodes = document.get("nodes")
    index = location[1]
    node = nodes[index] if isinstance(nodes, list) and index < len(nodes) else None
    name = node.get("name") if isinstance(node, Mapping) else None
    return f" (node {name.strip()})" if isinstance(name, str) and name.strip() else ""


def parse_ssh_node_pools(text: str) -> NodeSet:
    """Every host of every pool, in file order; SshNodePoolsError listing every problem."""
    document = _load_yaml(text, SshNodePoolsError)
    if document is None:
        return NodeSet(nodes=())  # SkyPilot reads an empty file as no pools
    if not isinstance(document, Mapping):
        raise SshNodePoolsError(["the top level must map pool names to pools"])
    reader = _PoolReader()
    for pool, config in document.items():
        reader.pool(pool, config)
    if reader.problems:
        raise SshNodePoolsError(reader.problems)
    return NodeSet(nodes=tuple(reader.nodes), skipped=dict(reader.skipped))


class _PoolReader:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.skipped: Counter[str] = Counter()
        self.problems: list[str] = []

    def pool(self, name: Any, config: Any) -> None:
        if not isinstance(name, str) or not name.strip():
            self.problems.append(f"pool names must be non-empty strings, got {name!r}")
            return
        hosts = config.get("hosts") if isinstance(config, Mapping) else None
        if not isinstance(hosts, list) or not hosts:
            self.problems.append(f"{name}.hosts: must be a non-empty list of hosts")
            return
        for index, host in enumerate(hosts):
            self.host(name, index, host)

    def host(self, pool: str, index: int, host: Any) -> None:
        if isinstance(host, Mapping):
            address = host.get("ip")
            if address is None:
                self.skipped[INVALID_HOST] += 1
                return
        else:
            address = host
        if not isinstance(address, str) or not address.strip():
            # Never echo the entry: it may hold a password.
            self.problems.append(
                f"{pool}.hosts.{index}: must be a host name, an IP address or a mapping with ip"
            )
            return
        self.nodes.append(ssh_node(pool, address.strip()))


def ssh_node(pool: str, address: str) -> Node:
    return Node(
        name=address,
        address=address,
        cloud=SSH_CLOUD,
        region=f"{SSH_REGION_PREFIX}{pool}",
        zone="",
        instance_type="",
        accelerator="",
        accelerator_count=0,
        price=PriceBook.fixed(),
        health=(Target(host=address, port=SSH_PORT),),
    )

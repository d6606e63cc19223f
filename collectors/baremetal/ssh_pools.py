"""SkyPilot's SSH node-pool file (``~/.sky/ssh_node_pools.yaml``) read as nodes.

The shape is SkyPilot 0.14's (``sky/ssh_node_pools/utils.py::prepare_hosts_info``): a mapping from
pool name to ``{hosts: [...], user, identity_file, password, ...}``, where each host is a string (an
IP, or a host name from ~/.ssh/config) or a mapping with ``ip`` and per-host overrides. A host
mapping without ``ip`` is skipped, as SkyPilot skips it. Only the pool names and host addresses are
read: users, identity files and passwords are never kept, logged or exported.

Each host becomes a node with ``cloud="ssh"`` and ``region="ssh-<pool>"`` (how SkyServe reports
replicas on SSH node pools), named by its address, checked by a TCP connect to its SSH port, with no
price and no replicas.
"""

from collections import Counter
from collections.abc import Mapping
from typing import Any

from collectors.baremetal.inventory import SSH_PORT
from collectors.baremetal.nodes import Node, NodeSet, Target
from collectors.baremetal.strict_yaml import load_yaml
from collectors.pricing import PriceBook

CLOUD = "ssh"
REGION_PREFIX = "ssh-"  # SkyPilot's context name for a pool: sky/clouds/ssh.py
INVALID_HOST = "invalid_host"


class SshNodePoolsError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_ssh_node_pools(text: str) -> NodeSet:
    """Every host of every pool, in file order; SshNodePoolsError listing every problem."""
    try:
        document = load_yaml(text)
    except ValueError as exc:
        raise SshNodePoolsError([f"ssh_node_pools: {exc}"]) from None
    if document is None:
        return NodeSet(nodes=())  # SkyPilot reads an empty file as no pools
    if not isinstance(document, Mapping):
        raise SshNodePoolsError(["ssh_node_pools: the top level must map pool names to pools"])
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
            self.problems.append(f"ssh_node_pools: pool name {name!r} is not a non-empty string")
            return
        hosts = config.get("hosts") if isinstance(config, Mapping) else None
        if not isinstance(hosts, list) or not hosts:
            self.problems.append(f"ssh_node_pools {name}.hosts: must be a non-empty list of hosts")
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
            where = f"ssh_node_pools {pool}.hosts[{index}]"
            self.problems.append(f"{where}: must be a host name, an IP address or a mapping with ip")
            return
        self.nodes.append(ssh_node(pool, address.strip()))


def ssh_node(pool: str, address: str) -> Node:
    return Node(
        name=address,
        address=address,
        cloud=CLOUD,
        region=f"{REGION_PREFIX}{pool}",
        zone="",
        instance_type="",
        accelerator="",
        accelerator_count=0,
        price=PriceBook.fixed(),
        health=(Target(host=address, port=SSH_PORT),),
    )

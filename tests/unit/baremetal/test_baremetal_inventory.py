"""The two node-file formats: what each means, and a clear error for each kind of mistake.

For SkyPilot's SSH node-pool file, SkyPilot itself is the oracle for the pool naming.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from collectors.baremetal.inventory import (
    INVALID_HOST,
    SSH_PORT,
    InventoryError,
    SshNodePoolsError,
    parse_inventory,
    parse_ssh_node_pools,
)
from collectors.baremetal.nodes import Target
from collectors.pricing import HOURS_PER_MONTH, NO_FIXED_PRICE
from tests.unit.baremetal.helpers import node

# A full inventory in the shape docs/metrics.md describes.
DOCUMENTED_EXAMPLE = """
nodes:
  - name: gpu-box-1
    address: 10.0.0.5
    provider: hetzner
    region: fsn1
    instance_type: GEX130
    accelerators: {RTX6000Ada: 1}
    monthly_cost: 838.0          # or hourly_cost
    health_url: http://10.0.0.5:8000/health   # absent: TCP connect to the replicas' ports
    replicas:
      - {service_name: llama-70b, port: 8000, health_path: /health}
"""


_NAME = " (node gpu-box-3)"


def _parse(*nodes: dict[str, Any]) -> Any:
    return parse_inventory(yaml.safe_dump({"nodes": list(nodes)}))


def _problems(*nodes: dict[str, Any]) -> list[str]:
    with pytest.raises(InventoryError) as caught:
        _parse(*nodes)
    assert isinstance(caught.value, ValueError)  # a config error at start
    return caught.value.problems


def test_the_documented_example() -> None:
    (box,) = parse_inventory(DOCUMENTED_EXAMPLE).nodes
    assert (box.name, box.address, box.cloud, box.region, box.zone) == (
        "gpu-box-1",
        "10.0.0.5",
        "hetzner",
        "fsn1",
        "",
    )
    assert (box.instance_type, box.accelerator, box.accelerator_count) == ("GEX130", "RTX6000Ada", 1)
    assert box.price.source == "fixed"
    assert box.price.hourly == pytest.approx(838.0 / HOURS_PER_MONTH)
    assert box.health == (Target("10.0.0.5", 8000, "/health"),)
    (replica,) = box.replicas
    assert (replica.service_name, replica.replica_id) == ("llama-70b", "gpu-box-1:8000")
    assert replica.check == Target("10.0.0.5", 8000, "/health")


def test_provider_is_the_cloud_in_lower_case_and_datacenter_is_the_zone() -> None:
    (box,) = _parse(node("b", provider="OVH", region="gra", datacenter="gra11")).nodes
    assert (box.cloud, box.region, box.zone) == ("ovh", "gra", "gra11")
    (other,) = _parse(node("c", zone="fsn1-dc14")).nodes
    assert other.zone == "fsn1-dc14"


def test_prices_hourly_monthly_or_none() -> None:
    hourly, monthly, free, none = _parse(
        node("h", hourly_cost=2.5), node("m", monthly_cost=730), node("f", monthly_cost=0), node("n")
    ).nodes
    assert (hourly.price.hourly, monthly.price.hourly, free.price.hourly) == (2.5, 1.0, 0.0)
    assert {hourly.price.source, monthly.price.source, free.price.source} == {"fixed"}
    assert (none.price.hourly, none.price.reason) == (None, NO_FIXED_PRICE)


def test_without_a_health_url_the_replica_ports_are_connected_to() -> None:
    replicas = [
        {"service_name": "a", "port": 8000, "health_path": "/ready"},
        {"service_name": "b", "port": 8001},
    ]
    (box,) = _parse(node("b", replicas=replicas)).nodes
    assert box.health == (Target("127.0.0.1", 8000), Target("127.0.0.1", 8001))
    assert [r.check for r in box.replicas] == [Target("127.0.0.1", 8000, "/ready"), Target("127.0.0.1", 8001)]


def test_a_node_with_neither_health_url_nor_replicas_is_connected_to_on_ssh() -> None:
    (box,) = _parse(node("b")).nodes
    assert box.health == (Target("127.0.0.1", SSH_PORT),)


def test_health_urls_keep_scheme_port_and_query() -> None:
    (box,) = _parse(node("b", health_url="https://10.0.0.5/healthz?full=1")).nodes
    assert box.health == (Target("10.0.0.5", 443, "/healthz?full=1", "https"),)
    assert box.health[0].url == "https://10.0.0.5:443/healthz?full=1"


def test_ipv6_addresses_are_bracketed_in_urls() -> None:
    (box,) = _parse(
        node("b", address="fd00::5", replicas=[{"service_name": "a", "port": 80, "health_path": "/"}])
    ).nodes
    assert box.replicas[0].check.url == "http://[fd00::5]:80/"


def test_an_empty_node_list_is_allowed() -> None:
    assert parse_inventory("nodes: []\n").nodes == ()


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"monthly_cost": -1}, "nodes.0.monthly_cost: Input should be greater than or equal to 0"),
        ({"monthly_cost": "838"}, "nodes.0.monthly_cost: Input should be a valid number"),
        ({"hourly_cost": float("inf")}, "nodes.0.hourly_cost: Input should be a finite number"),
        (
            {"monthly_cost": 1, "hourly_cost": 1},
            "nodes.0.hourly_cost: give monthly_cost or hourly_cost, not both",
        ),
        ({"zone": "a", "datacenter": "b"}, "nodes.0.datacenter: give zone or datacenter, not both"),
        ({"gpus": 1}, "nodes.0.gpus: unknown key"),
        ({"region": ""}, "nodes.0.region: String should have at least 1 character"),
        (
            {"address": "10.0.0.5:22"},
            "nodes.0.address: must be a host name or an IP address, without scheme, port or path",
        ),
        (
            {"address": "http://x"},
            "nodes.0.address: must be a host name or an IP address, without scheme, port or path",
        ),
        (
            {"accelerators": {"A100": 8, "H100": 8}},
            "nodes.0.accelerators: give one accelerator type with its count, got 2: A100, H100",
        ),
        (
            {"accelerators": {"A100": 0}},
            "nodes.0.accelerators.A100: Input should be greater than or equal to 1",
        ),
        ({"health_url": "ftp://x/"}, "nodes.0.health_url: must be an http:// or https:// URL with a host"),
        ({"health_url": "http://x:99999/"}, "nodes.0.health_url: port must be 1-65535"),
        ({"health_url": "http://x:0/"}, "nodes.0.health_url: port must be 1-65535, got 0"),
        ({"replicas": [{"service_name": "s"}]}, "nodes.0.replicas.0.port: Field required"),
        (
            {"replicas": [{"service_name": "s", "port": "80"}]},
            "nodes.0.replicas.0.port: Input should be a valid integer",
        ),
        (
            {"replicas": [{"service_name": "s", "port": 0}]},
            "nodes.0.replicas.0.port: port must be 1-65535, got 0",
        ),
        (
            {"replicas": [{"service_name": "s", "port": 65536}]},
            "nodes.0.replicas.0.port: port must be 1-65535, got 65536",
        ),
        (
            {"replicas": [{"service_name": "s", "port": 1, "health_path": "x"}]},
            "nodes.0.replicas.0.health_path: must be a URL path starting with '/', without spaces",
        ),
        (
            {"replicas": [{"service_name": "s", "port": 1}, {"service_name": "t", "port": 1}]},
            "nodes.0.replicas.1.port: 1 is the port of replicas.0 too",
        ),
    ],
)
def test_each_mistake_names_the_key_path_and_the_node(entry: dict[str, Any], expected: str) -> None:
    assert _problems(node("gpu-box-3", **entry)) == [expected + _NAME]


def test_the_ends_of_the_port_range_are_kept() -> None:
    replicas = [{"service_name": "s", "port": 1}, {"service_name": "t", "port": 65535}]
    (box,) = _parse(node("b", replicas=replicas, health_url="http://10.0.0.5:65535/health")).nodes
    assert [r.port for r in box.replicas] == [1, 65535]
    assert box.health == (Target("10.0.0.5", 65535, "/health"),)


def test_a_missing_key_names_the_node_by_index_when_it_has_no_name() -> None:
    problems = _problems(node("ok"), {"address": "10.0.0.1", "provider": "ovh", "region": "gra"})
    assert problems == ["nodes.1.name: Field required"]


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems(node("a", monthly_cost=-1), node("b", provider=""), node("c", zone=3))
    assert [p.split(":")[0] for p in problems] == [
        "nodes.0.monthly_cost",
        "nodes.1.provider",
        "nodes.2.zone",
    ]
    assert [p.rpartition(" (node ")[2] for p in problems] == ["a)", "b)", "c)"]


def test_node_names_are_unique() -> None:
    problems = _problems(node("a"), node("b"), node("a"))
    assert problems == ["nodes.2.name: 'a' is the name of nodes.0 too"]


def test_credentials_in_a_health_url_are_refused_and_not_echoed() -> None:
    problems = _problems(node("a", health_url="http://admin:hunter2@10.0.0.5/health"))
    assert problems == ["nodes.0.health_url: must not carry credentials (node a)"]
    problems = _problems(node("a", health_url="http://admin:hunter2@10.0.0.5:99999/health"))
    assert problems == ["nodes.0.health_url: must not carry credentials (node a)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "nodes: [",
            "not valid YAML: expected the node content, but found '<stream end>' at line 1, column 9",
        ),
        ("nodes: []\nnodes: []\n", "not valid YAML: duplicate key 'nodes' at line 2, column 1"),
        ("- name: a\n", "the top level must be a mapping with a 'nodes' list"),
        ("", "the top level must be a mapping with a 'nodes' list"),
        ("node: []\n", "nodes: Field required"),
        ("nodes:\n  - name: a\n    name: b\n", "not valid YAML: duplicate key 'name' at line 3, column 5"),
    ],
)
def test_file_level_mistakes(text: str, expected: str) -> None:
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text)
    assert caught.value.problems[0] == expected


# The shapes of SkyPilot's docs ("Deploy SkyPilot on existing machines") and of
# sky/ssh_node_pools/utils.py::prepare_hosts_info, with secrets that must never come out again.
POOLS = """
my-cluster:
  hosts:
    - 10.0.0.5
    - 10.0.0.6
  user: ubuntu
  identity_file: ~/.ssh/id_rsa-SECRET-PATH
my-box:
  hosts:
    - hostname_in_ssh_config
    - ip: 10.0.1.7
      user: root
      password: hunter2-SECRET
    - user: nobody
      password: no-ip-SECRET
  password: pool-SECRET
"""


def test_hosts_become_nodes_named_by_address_in_region_ssh_pool() -> None:
    found = parse_ssh_node_pools(POOLS)
    assert [(n.name, n.address, n.cloud, n.region) for n in found.nodes] == [
        ("10.0.0.5", "10.0.0.5", "ssh", "ssh-my-cluster"),
        ("10.0.0.6", "10.0.0.6", "ssh", "ssh-my-cluster"),
        ("hostname_in_ssh_config", "hostname_in_ssh_config", "ssh", "ssh-my-box"),
        ("10.0.1.7", "10.0.1.7", "ssh", "ssh-my-box"),
    ]
    first = found.nodes[0]
    assert first.health == (Target("10.0.0.5", SSH_PORT),)
    assert first.replicas == ()
    assert (first.price.hourly, first.price.reason) == (None, NO_FIXED_PRICE)


def test_a_host_mapping_without_ip_is_skipped_and_counted_as_skypilot_skips_it() -> None:
    assert parse_ssh_node_pools(POOLS).skipped == {INVALID_HOST: 1}


def test_secrets_are_not_kept() -> None:
    assert "SECRET" not in repr(parse_ssh_node_pools(POOLS))


def test_an_empty_file_has_no_pools() -> None:
    assert parse_ssh_node_pools("").nodes == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- 10.0.0.5\n", "the top level must map pool names to pools"),
        ("pool: {user: ubuntu, password: p-SECRET}\n", "pool.hosts: must be a non-empty list of hosts"),
        ("pool: {hosts: []}\n", "pool.hosts: must be a non-empty list of hosts"),
        ("pool: [10.0.0.5]\n", "pool.hosts: must be a non-empty list of hosts"),
        ("pool: {hosts: [42]}\n", "pool.hosts.0: must be a host name, an IP address or a mapping with ip"),
        (
            "pool: {hosts: [a, {ip: 7, password: p-SECRET}]}\n",
            "pool.hosts.1: must be a host name, an IP address or a mapping with ip",
        ),
        ("'': {hosts: [a]}\n", "pool names must be non-empty strings, got ''"),
        (
            "pool: {hosts: [a]}\npool: {hosts: [b]}\n",
            "not valid YAML: duplicate key 'pool' at line 2, column 1",
        ),
        (
            "pool: {hosts: [a\n",
            "not valid YAML: expected ',' or ']', but got '<stream end>' at line 2, column 1",
        ),
    ],
)
def test_mistakes_name_the_pool_and_host_but_never_echo_secrets(text: str, expected: str) -> None:
    with pytest.raises(SshNodePoolsError) as caught:
        parse_ssh_node_pools(text)
    assert caught.value.problems == [expected]
    assert "SECRET" not in str(caught.value)


_SKYPILOT_CONTEXTS = """
import json
from sky.clouds.ssh import SSH
from sky.ssh_node_pools import utils
print(json.dumps({
    "contexts": SSH.get_ssh_node_pool_contexts(),
    "pools": list(utils.load_ssh_targets(utils.constants.DEFAULT_SSH_NODE_POOLS_PATH)),
}))
"""


def test_regions_are_the_contexts_skypilot_derives_from_the_same_file(tmp_path: Path) -> None:
    (tmp_path / ".sky").mkdir()
    (tmp_path / ".sky" / "ssh_node_pools.yaml").write_text(POOLS)
    # A subprocess: SkyPilot reads $HOME/.sky when imported.
    answer = subprocess.run(
        [sys.executable, "-c", _SKYPILOT_CONTEXTS],
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    skypilot = json.loads(answer.stdout.strip().splitlines()[-1])
    ours = parse_ssh_node_pools(POOLS).nodes
    assert sorted({node.region for node in ours}) == sorted(skypilot["contexts"])
    assert sorted(skypilot["pools"]) == ["my-box", "my-cluster"]

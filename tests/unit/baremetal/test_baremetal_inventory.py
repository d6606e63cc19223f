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


_N = "nodes[0] (gpu-box-3)"
_R0 = f"{_N}.replicas[0]"


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
        (
            {"monthly_cost": -1},
            f"{_N}.monthly_cost: Input should be greater than or equal",
        ),
        ({"monthly_cost": "838"}, f"{_N}.monthly_cost: Input should be a valid number"),
        ({"hourly_cost": float("inf")}, f"{_N}.hourly_cost: Input should be a finite number"),
        (
            {"monthly_cost": 1, "hourly_cost": 1},
            f"{_N}: monthly_cost and hourly_cost: give one",
        ),
        ({"zone": "a", "datacenter": "b"}, f"{_N}: zone and datacenter: give one"),
        ({"gpus": 1}, f"{_N}.gpus: unknown key"),
        ({"region": ""}, f"{_N}.region: String should have at least 1 character"),
        ({"address": "10.0.0.5:22"}, f"{_N}.address: must be a host name or an IP address"),
        ({"address": "http://x"}, f"{_N}.address: must be a host name or an IP address"),
        (
            {"accelerators": {"A100": 8, "H100": 8}},
            f"{_N}.accelerators: give one accelerator",
        ),
        (
            {"accelerators": {"A100": 0}},
            f"{_N}.accelerators.A100: Input should be greater",
        ),
        ({"health_url": "ftp://x/"}, f"{_N}.health_url: must be an http:// or https:// URL"),
        ({"health_url": "http://x:99999/"}, f"{_N}.health_url: has an invalid port"),
        ({"replicas": [{"service_name": "s"}]}, f"{_N}.replicas[0].port: Field required"),
        ({"replicas": [{"service_name": "s", "port": "80"}]}, f"{_R0}.port: Input should be a valid integer"),
        (
            {"replicas": [{"service_name": "s", "port": 0}]},
            f"{_R0}.port: Input should be greater than",
        ),
        ({"replicas": [{"service_name": "s", "port": 1, "health_path": "x"}]}, f"{_R0}.health_path: must be"),
        (
            {"replicas": [{"service_name": "s", "port": 1}, {"service_name": "t", "port": 1}]},
            f"{_N}.replicas: replicas[1] uses port 1, as replicas[0] does",
        ),
    ],
)
def test_each_mistake_names_the_node_and_the_key(entry: dict[str, Any], expected: str) -> None:
    problems = _problems(node("gpu-box-3", **entry))
    assert any(problem.startswith(f"inventory {expected}") for problem in problems), problems


def test_a_missing_key_names_the_node_by_index_when_it_has_no_name() -> None:
    problems = _problems(node("ok"), {"address": "10.0.0.1", "provider": "ovh", "region": "gra"})
    assert problems == ["inventory nodes[1].name: Field required"]


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems(node("a", monthly_cost=-1), node("b", provider=""), node("c", zone=3))
    assert [p.split(":")[0] for p in problems] == [
        "inventory nodes[0] (a).monthly_cost",
        "inventory nodes[1] (b).provider",
        "inventory nodes[2] (c).zone",
    ]


def test_node_names_are_unique() -> None:
    problems = _problems(node("a"), node("b"), node("a"))
    assert problems == ["inventory nodes[2] (a).name: already used by nodes[0]"]


def test_credentials_in_a_health_url_are_refused_and_not_echoed() -> None:
    problems = _problems(node("a", health_url="http://admin:hunter2@10.0.0.5/health"))
    assert problems == ["inventory nodes[0] (a).health_url: must not carry credentials"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nodes: [", "inventory: not valid YAML: "),
        ("nodes: []\nnodes: []\n", "inventory: not valid YAML: duplicate key 'nodes' at line 2"),
        ("- name: a\n", "inventory: the top level must be a mapping with a 'nodes' list"),
        ("", "inventory: the top level must be a mapping"),
        ("node: []\n", "inventory nodes: Field required"),
        ("nodes:\n  - name: a\n    name: b\n", "duplicate key 'name' at line 3"),
    ],
)
def test_file_level_mistakes(text: str, expected: str) -> None:
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text)
    assert expected in str(caught.value)


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
        ("- 10.0.0.5\n", "ssh_node_pools: the top level must map pool names to pools"),
        ("pool: {user: ubuntu, password: p-SECRET}\n", "ssh_node_pools pool.hosts: must be a non-empty list"),
        ("pool: {hosts: []}\n", "ssh_node_pools pool.hosts: must be a non-empty list"),
        ("pool: [10.0.0.5]\n", "ssh_node_pools pool.hosts: must be a non-empty list"),
        ("pool: {hosts: [42]}\n", "ssh_node_pools pool.hosts[0]: must be a host name, an IP address"),
        (
            "pool: {hosts: [{ip: 7, password: p-SECRET}]}\n",
            "ssh_node_pools pool.hosts[0]: must be a host name",
        ),
        ("pool: {hosts: [a]}\npool: {hosts: [b]}\n", "ssh_node_pools: not valid YAML: duplicate key 'pool'"),
        ("pool: {hosts: [a\n", "ssh_node_pools: not valid YAML"),
    ],
)
def test_mistakes_name_the_pool_and_host_but_never_echo_secrets(text: str, expected: str) -> None:
    with pytest.raises(SshNodePoolsError) as caught:
        parse_ssh_node_pools(text)
    assert expected in str(caught.value)
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

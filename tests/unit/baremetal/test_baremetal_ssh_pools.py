"""SkyPilot's SSH node-pool file read as nodes; SkyPilot itself is the oracle for the pool naming."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collectors.baremetal.inventory import SSH_PORT
from collectors.baremetal.nodes import Target
from collectors.baremetal.ssh_pools import INVALID_HOST, SshNodePoolsError, parse_ssh_node_pools
from collectors.pricing import NO_FIXED_PRICE

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

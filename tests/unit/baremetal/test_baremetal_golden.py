"""Golden exposition of the bare-metal collector, built from a fixed inventory and fixed check results.

The rendered text exposition must equal ``golden/baremetal.prom`` byte for byte. When a change to
the exposition is intended, regenerate the file with::

    UPDATE_GOLDEN=1 PYTHONPATH=$PWD python -m pytest tests/unit/baremetal/test_baremetal_golden.py

and review the diff before committing it.
"""

from pathlib import Path

from collectors.baremetal.checks import CheckResult, CheckRun, Outcome
from collectors.baremetal.collector import BareMetalCollector, Observation
from collectors.baremetal.inventory import parse_inventory
from collectors.baremetal.nodes import NodeSet
from tests.unit.baremetal.helpers import context
from tests.unit.golden import assert_golden, exposition

GOLDEN = Path(__file__).parent / "golden" / "baremetal.prom"
NOW = 1_795_830_000.0
INTERVAL = 30.0

# Addresses from TEST-NET-1 (RFC 5737): nothing is contacted, the check results below are fixed.
INVENTORY = """\
nodes:
  - name: gpu-box-1
    address: 192.0.2.10
    provider: hetzner
    region: fsn1
    datacenter: fsn1-dc14
    instance_type: GEX130
    accelerators: {RTX6000Ada: 1}
    monthly_cost: 838.0
    health_url: http://192.0.2.10:9100/health
    replicas:
      - {service_name: llama-70b, port: 8000, health_path: /health}
      - {service_name: embed, port: 8001}
  - name: gpu-box-2
    address: 192.0.2.11
    provider: ovh
    region: gra
    accelerators: {L4: 2}
    hourly_cost: 1.25
    replicas:
      - {service_name: llama-70b, port: 8000, health_path: /health}
"""

# (outcome, seconds, detail) per target, by its description.
RESULTS = {
    "http://192.0.2.10:9100/health": (Outcome.OK, 0.012, "HTTP 200"),
    "http://192.0.2.10:8000/health": (Outcome.OK, 0.034, "HTTP 200"),
    "tcp://192.0.2.10:8001": (Outcome.FAILED, 0.3, "no answer in time"),
    # gpu-box-2 has no health_url: its node health is a TCP connect to each replica's port.
    "tcp://192.0.2.11:8000": (Outcome.UNREACHABLE, 0.3, "connection refused"),
    "http://192.0.2.11:8000/health": (Outcome.UNREACHABLE, 0.3, "connection refused"),
}


def _nodes() -> NodeSet:
    return parse_inventory(INVENTORY)


def _observation(nodes: NodeSet) -> Observation:
    targets = {target for node in nodes.nodes for target in node.targets()}
    results = {target: CheckResult(*RESULTS[target.describe()]) for target in targets}
    return Observation(nodes=nodes, checks=CheckRun(results=results, late=0))


def test_exposition_matches_the_golden_file(tmp_path: Path) -> None:
    # The inventory file only lets the collector be configured: build reads the fixed observation.
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    made = BareMetalCollector.from_config({"inventory": str(inventory), "interval": "30s"}, context())
    nodes = _nodes()
    assert {target.describe() for node in nodes.nodes for target in node.targets()} == set(RESULTS)
    # Two builds one interval apart on a fixed clock, so the accrued-cost counters hold a value.
    made.build(_observation(nodes), NOW - INTERVAL)
    build = made.build(_observation(nodes), NOW)
    assert_golden(exposition(build.families), GOLDEN)

"""A run's verdicts: each node up or down, each hosted replica's status (pure, from check results).

Rules:

- a node is up when any of its health targets passes (its ``health_url``; without one, a TCP
  connect to any of its replicas' ports, or to port 22 when it hosts none);
- a node is unreachable when none of its health targets could even be connected to;
- a replica is READY when its own check passes (GET ``health_path`` on its port, or a TCP connect
  to the port without one); else UNKNOWN when its node is unreachable (nothing can be said about a
  box that cannot be reached); else NOT_READY.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from collectors.baremetal.checks import CheckResult, Outcome
from collectors.baremetal.nodes import HostedReplica, Node, Target

READY = "READY"
NOT_READY = "NOT_READY"
UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class ReplicaRecord:
    replica: HostedReplica
    status: str
    detail: str


@dataclass(frozen=True, slots=True)
class NodeRecord:
    node: Node
    up: bool
    reachable: bool
    check_seconds: float  # the slowest of the node's health targets: they run side by side
    detail: str
    replicas: tuple[ReplicaRecord, ...]


def assess(nodes: Iterable[Node], results: Mapping[Target, CheckResult]) -> tuple[NodeRecord, ...]:
    return tuple(_node_record(node, results) for node in nodes)


def _node_record(node: Node, results: Mapping[Target, CheckResult]) -> NodeRecord:
    health = [results[target] for target in node.health]
    up = any(result.ok for result in health)
    reachable = any(result.outcome is not Outcome.UNREACHABLE for result in health)
    return NodeRecord(
        node=node,
        up=up,
        reachable=reachable,
        check_seconds=max(result.seconds for result in health),
        detail=_telling(health).detail,
        replicas=tuple(_replica_record(r, results[r.check], reachable) for r in node.replicas),
    )


def _replica_record(replica: HostedReplica, result: CheckResult, node_reachable: bool) -> ReplicaRecord:
    if result.ok:
        status = READY
    elif not node_reachable:
        status = UNKNOWN
    else:
        status = NOT_READY
    return ReplicaRecord(replica=replica, status=status, detail=result.detail)


def _telling(health: list[CheckResult]) -> CheckResult:
    """The result that explains the node's state best: a pass, else an answer, else the first."""
    ranked = sorted(health, key=lambda result: _RANK[result.outcome])
    return ranked[0]


_RANK = {Outcome.OK: 0, Outcome.FAILED: 1, Outcome.UNREACHABLE: 2}

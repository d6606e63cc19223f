"""Simulated Kubernetes clusters: seeded nodes and serving pods that change as simulated time passes.

Each change makes a new resource version and a new immutable snapshot of every object, encoded
once; the API server pages through a snapshot, as etcd serves a paginated list from one revision.
Only the last few snapshots are kept, so a continue token that points into an older one expires
(HTTP 410) the way it does after etcd compacts.
"""

import json
import random
import string
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final

from simulator.kubernetes_shapes import PROFILES, WORKLOADS, ClusterProfile, NodePool, Workload
from simulator.kubernetes_wire import (
    PodState,
    SimNode,
    SimPod,
    node_dict,
    node_labels,
    pod_dict,
    pod_labels,
)

RETAINED_SNAPSHOTS: Final = 8
_SUFFIX_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' rand.String alphabet

# Initial states of scheduled pods, mostly healthy.
_STATE_WEIGHTS: Final = {
    PodState.READY: 84,
    PodState.NOT_READY: 3,
    PodState.STARTING: 2,
    PodState.CREATING: 2,
    PodState.CRASHLOOP: 2,
    PodState.IMAGE_PULL: 1,
    PodState.TERMINATING: 2,
    PodState.EVICTED: 1,
    PodState.PREEMPTED: 1,
    PodState.LOST: 1,
}
# Per step, where a pod in each state may go, with a probability for each move.
_MOVES: Final = {
    PodState.READY: ((PodState.NOT_READY, 0.01), (PodState.EVICTED, 0.002)),
    PodState.NOT_READY: ((PodState.READY, 0.5),),
    PodState.STARTING: ((PodState.READY, 0.5),),
    PodState.CREATING: ((PodState.STARTING, 0.6),),
    PodState.CRASHLOOP: ((PodState.READY, 0.2),),
    PodState.IMAGE_PULL: ((PodState.CREATING, 0.2),),
    PodState.LOST: ((PodState.READY, 0.3),),
}
_REPLACED: Final = frozenset({PodState.TERMINATING, PodState.EVICTED, PodState.PREEMPTED})


@dataclass(frozen=True)
class WireObject:
    """One object as the API server stores it: what selectors read, and its JSON encoding."""

    namespace: str
    name: str
    labels: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class ClusterSnapshot:
    resource_version: int
    pods: tuple[WireObject, ...]  # sorted by namespace, then name (etcd key order)
    nodes: tuple[WireObject, ...]  # sorted by name


class _Layout:
    """Node and pod generation for one cluster; randomness comes from the fleet's seeded rng."""

    def __init__(self, profile: ClusterProfile, rng: random.Random, start_time: float) -> None:
        self.profile = profile
        self.rng = rng
        self.start_time = start_time
        self.nodes: list[SimNode] = []
        self.pods: list[SimPod] = []
        self.free_gpus: dict[str, int] = {}
        self.free_cpus: dict[str, float] = {}
        self.template_hashes: dict[str, str] = {}
        self.ordinals: dict[str, int] = {}
        self._orders: dict[bool, list[SimNode]] = {}  # node order for GPU pods and for the others

    def add_node(self, index: int) -> None:
        pools = self.profile.pools
        pool = self.rng.choices(pools, weights=[p.weight for p in pools])[0]
        name = _node_name(self.profile, pool, index, self.rng)
        zone = self.rng.choice(self.profile.zones)
        self.nodes.append(SimNode(self.profile, pool, name, zone, index, self.start_time - 86_400))
        self.free_gpus[name] = pool.gpus
        self.free_cpus[name] = pool.cpus - 0.2

    def add_pod(self, workload: Workload, index: int) -> None:
        node = self._place(workload)
        state = PodState.UNSCHEDULED if not node else _weighted(self.rng, _STATE_WEIGHTS)
        if state == PodState.PREEMPTED and not _spot(self.nodes, node):
            state = PodState.READY
        self.pods.append(self.new_pod(workload, node, state, index))

    def new_pod(self, workload: Workload, node: str, state: PodState, index: int) -> SimPod:
        owner, name = self._names(workload)
        uid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        return SimPod(
            workload=workload,
            name=name,
            owner=owner,
            template_hash=self.template_hashes.get(workload.name, ""),
            node=node,
            state=state,
            created_at=self.start_time - self.rng.uniform(60, 7 * 86_400),
            uid=uid,
            ip=f"10.{index % 250}.{(index // 250) % 250}.{index % 200 + 2}",
        )

    def _names(self, workload: Workload) -> tuple[str, str]:
        if workload.kind == "StatefulSet":
            ordinal = self.ordinals.get(workload.name, 0)
            self.ordinals[workload.name] = ordinal + 1
            return workload.name, f"{workload.name}-{ordinal}"
        template_hash = self.template_hashes.setdefault(
            workload.name, "".join(self.rng.choices(_SUFFIX_ALPHABET, k=10))
        )
        owner = f"{workload.name}-{template_hash}"
        return owner, f"{owner}-{''.join(self.rng.choices(_SUFFIX_ALPHABET, k=5))}"

    def _place(self, workload: Workload) -> str:
        """First fit, GPU pools for GPU pods and CPU pools first for the others; "" if nothing fits."""
        cpu = float(workload.cpu)
        wants_gpu = workload.gpus > 0
        if wants_gpu not in self._orders:
            self._orders[wants_gpu] = sorted(self.nodes, key=lambda n: (n.pool.gpus == 0) == wants_gpu)
        for node in self._orders[wants_gpu]:
            if self.free_gpus[node.name] >= workload.gpus and self.free_cpus[node.name] >= cpu:
                self.free_gpus[node.name] -= workload.gpus
                self.free_cpus[node.name] -= cpu
                return node.name
        return ""


def _node_name(profile: ClusterProfile, pool: NodePool, index: int, rng: random.Random) -> str:
    suffix = "".join(rng.choices(string.ascii_lowercase + string.digits, k=4))
    if profile.flavour == "gke":
        return f"gke-serving-{pool.name}-{rng.getrandbits(32):08x}-{suffix}"
    if profile.flavour == "eks":
        return f"ip-10-0-{index // 250}-{index % 250}.{profile.region}.compute.internal"
    if profile.flavour == "aks":
        return f"aks-{pool.name}-{rng.getrandbits(27):08d}-vmss{index:06x}"
    return f"{pool.name}-{index:04d}"


def _weighted(rng: random.Random, weights: Mapping[PodState, int]) -> PodState:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _spot(nodes: list[SimNode], name: str) -> bool:
    node = next(n for n in nodes if n.name == name)
    return any(value in ("true", "spot") for value in node.pool.labels.values())


class KubeFleet:
    """``clusters`` clusters (one per profile, in ``PROFILES`` order) sharing ``nodes`` and ``pods``."""

    def __init__(self, pods: int, nodes: int, clusters: int, seed: int, start_time: float) -> None:
        if pods < 0 or nodes < 0:
            raise ValueError("kubernetes pods and nodes must be >= 0")
        if not 1 <= clusters <= len(PROFILES):
            raise ValueError(f"kubernetes clusters must be between 1 and {len(PROFILES)}")
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._now = start_time
        self._layouts = [_Layout(profile, self._rng, start_time) for profile in PROFILES[:clusters]]
        for index in range(nodes):
            self._layouts[index % clusters].add_node(index)
        for index in range(pods):
            workload = self._rng.choices(WORKLOADS, weights=[w.weight for w in WORKLOADS])[0]
            self._layouts[index % clusters].add_pod(workload, index)
        self._version = 1
        self._snapshots: dict[str, dict[int, ClusterSnapshot]] = {}
        self._encoded: dict[str, bytes] = {}  # uid/name -> body, for objects unchanged across steps
        self._snapshot_all()

    @property
    def contexts(self) -> tuple[str, ...]:
        return tuple(layout.profile.context for layout in self._layouts)

    def snapshot(self, context: str, resource_version: int | None = None) -> ClusterSnapshot | None:
        """The latest snapshot, or the one at ``resource_version`` if still retained (else None)."""
        with self._lock:
            kept = self._snapshots.get(context, {})
            version = self._version if resource_version is None else resource_version
            return kept.get(version)

    def step(self, seconds: float = 10.0) -> None:
        """Move pods along their lifecycles; replaced pods come back under new names."""
        with self._lock:
            self._now += seconds
            for layout in self._layouts:
                layout.pods = [self._advance(layout, pod) for pod in layout.pods]
            self._version += 1
            self._snapshot_all()

    def compact(self) -> None:
        """Keep only the latest snapshot: outstanding continue tokens expire, as after etcd compaction."""
        with self._lock:
            for kept in self._snapshots.values():
                for version in [v for v in kept if v != self._version]:
                    del kept[version]

    def _advance(self, layout: _Layout, pod: SimPod) -> SimPod:
        if pod.state in _REPLACED and self._rng.random() < 0.5:
            fresh = layout.new_pod(pod.workload, pod.node, PodState.CREATING, self._rng.randrange(60_000))
            return replace(fresh, created_at=self._now)
        for target, chance in _MOVES.get(pod.state, ()):
            if self._rng.random() < chance:
                return replace(pod, state=target)
        return pod

    def _snapshot_all(self) -> None:
        encoded: dict[str, bytes] = {}
        for layout in self._layouts:
            pods = sorted(
                (self._wire_pod(pod, encoded) for pod in layout.pods), key=lambda o: (o.namespace, o.name)
            )
            nodes = sorted((self._wire_node(node, encoded) for node in layout.nodes), key=lambda o: o.name)
            kept = self._snapshots.setdefault(layout.profile.context, {})
            kept[self._version] = ClusterSnapshot(self._version, tuple(pods), tuple(nodes))
            for version in sorted(kept)[:-RETAINED_SNAPSHOTS]:
                del kept[version]
        self._encoded = encoded

    def _wire_pod(self, pod: SimPod, encoded: dict[str, bytes]) -> WireObject:
        key = f"pod/{pod.uid}/{pod.state}/{pod.node}"
        body = self._encoded.get(key) or json.dumps(pod_dict(pod, self._version)).encode()
        encoded[key] = body
        return WireObject(pod.workload.namespace, pod.name, pod_labels(pod), body)

    def _wire_node(self, node: SimNode, encoded: dict[str, bytes]) -> WireObject:
        key = f"node/{node.name}"
        body = self._encoded.get(key) or json.dumps(node_dict(node, 1)).encode()
        encoded[key] = body
        return WireObject("", node.name, node_labels(node), body)

"""``--demo``: the real collectors pointed at the built-in fleet simulator on loopback."""

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from exporter.config import ExporterConfig
from simulator import Simulator

DEMO_INTERVAL = "10s"
DEMO_TICK_SECONDS = 10.0
DEMO_BAREMETAL_NODES = 4  # the last one fails its health checks
# Simulated GKE, EKS, AKS and on-prem clusters, reached through a generated kubeconfig.
DEMO_KUBERNETES_PODS = 48
DEMO_KUBERNETES_NODES = 16
DEMO_KUBERNETES_CLUSTERS = 4
# Illustrative rates for the simulator's Kubernetes contexts and SSH pools, in SkyPilot's
# kubernetes.pricing shape: owned hardware has no list price, so the demo shows what a team
# might charge back internally.
DEMO_KUBERNETES_PRICING: dict[str, Any] = {
    "cpu": 0.032,
    "memory": 0.0043,
    "accelerators": {"L4": 0.60, "A100": 1.60, "H100": 2.80, "T4": 0.30},
}


@dataclass(frozen=True)
class DemoOptions:
    services: int
    replicas: int
    seed: int


def start_simulator(options: DemoOptions) -> Simulator:
    simulator = Simulator(
        services=options.services,
        replicas_per_service=options.replicas,
        seed=options.seed,
        tick_seconds=DEMO_TICK_SECONDS,
        baremetal_nodes=DEMO_BAREMETAL_NODES,
        kubernetes_pods=DEMO_KUBERNETES_PODS,
        kubernetes_nodes=DEMO_KUBERNETES_NODES,
        kubernetes_clusters=DEMO_KUBERNETES_CLUSTERS,
    )
    return simulator.start()


def demo_catalog_dir() -> Path:
    """The small v8 catalog shipped for the instance types the simulated fleet uses."""
    return Path(str(files("simulator") / "data" / "catalogs" / "v8"))


def demo_config(config: ExporterConfig, simulator: Simulator) -> ExporterConfig:
    """The configured sections with SkyServe aimed at the simulator and the demo price list."""
    collectors = dict(config.collectors)
    skyserve = dict(collectors.get("skyserve") or {"interval": DEMO_INTERVAL})
    skyserve["endpoint"] = simulator.url
    skyserve.pop("token_file", None)
    collectors["skyserve"] = skyserve
    collectors.update(demo_baremetal(collectors, simulator))
    collectors.update(demo_kubernetes(collectors, simulator))
    # Probe every simulated endpoint, replicas too, so the Endpoints dashboard fills at once.
    collectors.setdefault("probes", {"interval": DEMO_INTERVAL, "discover": {"replicas": True}})
    pricing = dict(config.pricing or {})
    pricing["catalog_dir"] = str(demo_catalog_dir())
    pricing.setdefault("kubernetes", DEMO_KUBERNETES_PRICING)
    return ExporterConfig(collectors=collectors, pricing=pricing)


def demo_baremetal(collectors: dict[str, Any], simulator: Simulator) -> dict[str, Any]:
    """The ``baremetal`` section aimed at the simulator's nodes; nothing when it runs none."""
    if simulator.baremetal_inventory_path is None:
        return {}
    section = dict(collectors.get("baremetal") or {"interval": DEMO_INTERVAL})
    section["inventory"] = str(simulator.baremetal_inventory_path)
    section.pop("ssh_node_pools", None)
    return {"baremetal": section}


def demo_kubernetes(collectors: dict[str, Any], simulator: Simulator) -> dict[str, Any]:
    """The ``kubernetes`` section reading every simulated cluster; nothing when it runs none."""
    kube = simulator.kubernetes
    if kube is None or kube.kubeconfig is None:
        return {}
    section = dict(collectors.get("kubernetes") or {"interval": DEMO_INTERVAL})
    section["kubeconfig"] = str(kube.kubeconfig)
    section["contexts"] = list(kube.fleet.contexts)
    return {"kubernetes": section}

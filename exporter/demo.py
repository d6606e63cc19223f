"""``--demo``: the real collectors pointed at the built-in fleet simulator on loopback.

Each collector says how it runs against the simulator (its ``demo_config``), so this module names
no collector and no config key.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from exporter.collector import CollectorFactory, DemoSection, top_level_key_of
from exporter.config import ExporterConfig
from simulator import Simulator
from simulator.demo import DEMO_POOLS, DEMO_TICK_SECONDS

DEMO_BAREMETAL_NODES = 4  # the last one fails its health checks
# Simulated GKE, EKS, AKS and on-prem clusters, reached through a generated kubeconfig.
DEMO_KUBERNETES_PODS = 48
DEMO_KUBERNETES_NODES = 16
DEMO_KUBERNETES_CLUSTERS = 4


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
        pools=DEMO_POOLS,
    )
    return simulator.start()


def demo_config(
    config: ExporterConfig, simulator: Simulator, factories: Mapping[str, CollectorFactory]
) -> ExporterConfig:
    """The configured sections as each collector adapts them to the simulator."""
    collectors = dict(config.collectors)
    top_level = dict(config.top_level)
    for name, factory in factories.items():
        if not isinstance(factory, DemoSection):
            continue
        key = top_level_key_of(factory)
        sections, slot = (top_level, key) if key else (collectors, name)
        section = factory.demo_config(sections.get(slot), simulator)
        if section is None:
            sections.pop(slot, None)
        else:
            sections[slot] = dict(section)
    return config.model_copy(update={"collectors": collectors, "top_level": top_level})

"""The Kubernetes collector: serving pods as replicas, placed and priced by the nodes they run on.

It emits, for example::

    skyserve_replica_info{service_name="llama-8b",replica_id="llama-8b-7d9f8b6c5-x2k4p",source="kubernetes",
        version="",cloud="gcp",region="us-central1",zone="us-central1-a",instance_type="g2-standard-8",
        accelerator="L4",spot="true"} 1.0
    skyserve_replica_status{service_name="llama-8b",replica_id="llama-8b-7d9f8b6c5-x2k4p",source="kubernetes",
        status="READY"} 1.0
    skyserve_replica_hourly_cost_dollars{service_name="llama-8b",replica_id="llama-8b-7d9f8b6c5-x2k4p",
        source="kubernetes",cloud="gcp",region="us-central1",spot="true",price_source="catalog"} 0.3
    skyserve_node_hourly_cost_dollars{node="gke-prod-gpu-1",source="kubernetes",cloud="gcp",
        region="us-central1",instance_type="g2-standard-8",spot="true",price_source="catalog"} 0.3
    skyserve_kubernetes_service_replicas{service_name="llama-8b",status="READY"} 3.0

The full list is ``metrics.KUBERNETES_METRICS``; the status mapping is in ``records``, placement in
``resources`` and the cost-share rule in ``metrics``.
"""

from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from collectors.kubernetes.config import KubernetesConfig
from collectors.kubernetes.metrics import (
    KUBERNETES_METRICS,
    SOURCE,
    add_nodes,
    add_pod,
    add_services,
    placement_of,
    price_nodes,
    price_replicas,
)
from collectors.kubernetes.records import (
    DUPLICATE_NODE,
    FAILED,
    PENDING,
    READY,
    STARTING,
    Cluster,
    PodRecord,
    PodRules,
    parse_cluster,
)
from collectors.pricing import NO_COSTS, PriceBook, ReplicaCosts, ServiceCosts
from exporter.collector import Build, CollectorConfig, CollectorContext, ServiceSummary
from exporter.metrics import FamilyBuilder, MetricTable
from exporter.sharding import UNSHARDED, Shard

if TYPE_CHECKING:
    from collectors.kubernetes.client import ClusterListings, KubernetesClient
    from simulator import Simulator


class KubernetesCollector:
    """Lists the selected pods (and their nodes) of every configured cluster on each poll."""

    name: ClassVar[str] = "kubernetes"
    metrics: ClassVar[MetricTable] = KUBERNETES_METRICS
    config_model: ClassVar[type[CollectorConfig]] = KubernetesConfig

    def __init__(
        self,
        client: "KubernetesClient",
        rules: PodRules,
        prices: Callable[[], PriceBook | None],
        *,
        interval: float,
        timeout: float,
        stale_after: float,
        shard: Callable[[], Shard] = lambda: UNSHARDED,
    ) -> None:
        self.interval = interval
        self._shard = shard
        self.timeout = timeout
        self._client = client
        self._rules = rules
        self._prices = prices
        self._costs = ReplicaCosts(stale_after)

    @classmethod
    def from_config(cls, config: Any, context: CollectorContext) -> "KubernetesCollector":
        """A collector for the section; SectionError naming the key when the kubeconfig is unusable."""
        settings = KubernetesConfig.model_validate(config)
        # The kubernetes package is imported only by an exporter that reads a cluster (~25 MB).
        from collectors.kubernetes.client import KubernetesClient, ListQuery, resolve_targets  # noqa: PLC0415

        targets = resolve_targets(settings, context.environ)
        query = ListQuery(settings.namespaces, settings.effective_selector, settings.page_size)
        client = KubernetesClient(
            targets, query, settings.timeout, context.environ, body_size_limit=settings.body_size_limit
        )
        rules = PodRules(settings.service_label, settings.include_skypilot)
        return cls(
            client,
            rules,
            context.service_lookup(PriceBook),
            interval=settings.interval,
            timeout=settings.timeout,
            stale_after=settings.stale_after_seconds,
            shard=context.shard,
        )

    @classmethod
    def default_config(cls, environ: Mapping[str, str]) -> Mapping[str, Any] | None:
        return None  # reading a cluster is opt-in: a `collectors.kubernetes` section turns it on

    @classmethod
    def demo_config(
        cls, section: Mapping[str, Any] | None, simulator: "Simulator"
    ) -> Mapping[str, Any] | None:
        """Every simulated cluster, through the kubeconfig the simulator wrote."""
        kube = simulator.kubernetes
        if kube is None or kube.kubeconfig is None:
            return section
        from simulator.demo import DEMO_INTERVAL  # noqa: PLC0415

        demo = section or {"interval": DEMO_INTERVAL}
        return {**demo, "kubeconfig": str(kube.kubeconfig), "contexts": list(kube.fleet.contexts)}

    def fetch(self) -> "ClusterListings":
        return self._client.fetch()

    def build(self, raw: "ClusterListings", now: float) -> Build:
        # Pods by their service, nodes by their name (exporter.sharding): the pods kept are the
        # shard's, and of the nodes, those it owns and those its pods run on are priced.
        shard = self._shard()
        cluster = parse_cluster(raw.listings, self._rules, shard)
        owns = shard.owner()
        owned_nodes = [node for node in cluster.nodes.values() if owns(node.name)]
        used = {(pod.context, pod.node_name) for pod in cluster.pods}
        priced = [node for key, node in cluster.nodes.items() if key in used or owns(node.name)]
        node_prices = price_nodes(priced, self._prices())
        costs = price_replicas(cluster.pods, cluster.nodes, node_prices)
        out = FamilyBuilder(self.metrics, refresh_seconds=self.interval)
        for pod in cluster.pods:
            add_pod(out, pod, placement_of(pod, cluster.nodes))
        add_services(out, cluster.pods, cluster.nodes)
        service_costs = self._costs.add(out, now, costs)
        duplicate_nodes = add_nodes(out, owned_nodes, node_prices)
        skipped = Counter(cluster.skipped)
        if duplicate_nodes:
            skipped[DUPLICATE_NODE] += duplicate_nodes
        return Build(
            families=out.families(),
            skipped=dict(skipped),
            services=_summaries(cluster, service_costs),
        )


def _summaries(cluster: Cluster, costs: Mapping[str, ServiceCosts]) -> tuple[ServiceSummary, ...]:
    by_service: dict[str, list[PodRecord]] = {}
    for pod in cluster.pods:
        by_service.setdefault(pod.service_name, []).append(pod)
    return tuple(
        _summary(name, pods, cluster, costs.get(name, NO_COSTS)) for name, pods in sorted(by_service.items())
    )


def _summary(name: str, pods: list[PodRecord], cluster: Cluster, costs: ServiceCosts) -> ServiceSummary:
    clouds = {placement_of(pod, cluster.nodes).cloud for pod in pods}
    statuses = Counter(pod.status for pod in pods)
    ready = statuses[READY]
    return ServiceSummary(
        name=name,
        source=SOURCE,
        status=_service_status(pods, ready),
        ready_replicas=ready,
        total_replicas=len(pods),
        clouds=tuple(sorted(cloud for cloud in clouds if cloud)),
        replicas_by_status=dict(statuses),
        costs=costs.costs,
        unpriced=costs.unpriced,
    )


def _service_status(pods: list[PodRecord], ready: int) -> str:
    """A Kubernetes workload has no service status of its own; this is SkyServe's word for its state."""
    if ready:
        return "READY"
    if any(pod.status in (PENDING, STARTING) for pod in pods):
        return "REPLICA_INIT"
    if all(pod.status == FAILED for pod in pods):
        return "FAILED"
    return "NO_REPLICA"

"""Nodes priced through the price book; each pod's share of its node's price."""

from collections.abc import Sequence

import pytest

from collectors.kubernetes.client import ContextListing
from collectors.kubernetes.metrics import (
    NO_REQUESTS,
    UNKNOWN_NODE,
    node_query,
    price_nodes,
    price_replicas,
    share,
)
from collectors.kubernetes.records import (
    Cluster,
    NodeRecord,
    PodRecord,
    PodRules,
    parse_cluster,
    parse_node,
    parse_pod,
)
from collectors.pricing import INCOMPLETE_RESOURCES, NO_PRICE_BOOK, PriceBook, PriceQuery
from tests.unit.kubernetes.fixtures import gke_node, node, pod

RULES = PodRules("app.kubernetes.io/name", include_skypilot=False)


def _node(raw: dict[str, object], context: str = "ctx") -> NodeRecord:
    record = parse_node(raw, context)
    assert record is not None
    return record


def _pod(**changes: object) -> PodRecord:
    record = parse_pod(pod(**changes), "ctx", "app.kubernetes.io/name")  # type: ignore[arg-type]
    assert not isinstance(record, str)
    return record


def _expected(book: PriceBook, **query: object) -> float:
    base: dict[str, object] = dict(
        zone="",
        instance_type="",
        accelerator="",
        accelerators_per_node=None,
        cpus=None,
        memory_gib=None,
        spot=False,
        nodes=1,
    )
    base.update(query)
    price = book.price(PriceQuery(**base))  # type: ignore[arg-type]
    assert price.hourly is not None, price
    return price.hourly


def test_gke_node_is_host_plus_separately_priced_gpu(book: PriceBook) -> None:
    record = _node(gke_node())
    query = node_query(record)
    assert (query.cloud, query.region, query.zone, query.instance_type) == (
        "gcp",
        "us-central1",
        "us-central1-a",
        "g2-standard-8",
    )
    assert (query.accelerator, query.accelerators_per_node, query.spot, query.nodes) == ("L4", 1.0, True, 1)
    price = price_nodes([record], book)[("ctx", "node-1")]
    host = _expected(
        book,
        cloud="gcp",
        region="us-central1",
        zone="us-central1-a",
        instance_type="g2-standard-8",
        spot=True,
    )
    assert price.source == "catalog"
    assert price.hourly is not None and price.hourly > host  # the L4 row is added to the host's price


def test_eks_and_aks_nodes_price_from_their_catalogs(book: PriceBook) -> None:
    eks_labels = {
        "topology.kubernetes.io/region": "us-east-2",
        "node.kubernetes.io/instance-type": "g6.xlarge",
        "karpenter.sh/capacity-type": "spot",
    }
    aks_labels = {
        "topology.kubernetes.io/region": "eastus",
        "node.kubernetes.io/instance-type": "Standard_NC24ads_A100_v4",
    }
    eks = _node(node("ip-1", provider_id="aws:///us-east-2a/i-1", labels=eks_labels))
    aks = _node(node("aks-1", provider_id="azure:///x", labels=aks_labels))
    prices = price_nodes([eks, aks], book)
    assert prices[("ctx", "ip-1")].hourly == _expected(
        book, cloud="aws", region="us-east-2", instance_type="g6.xlarge", spot=True
    )
    assert prices[("ctx", "aks-1")].hourly == _expected(
        book, cloud="azure", region="eastus", instance_type="Standard_NC24ads_A100_v4"
    )


def test_owned_nodes_price_from_kubernetes_rates_of_their_context(book: PriceBook) -> None:
    onprem = _node(node("gpu-1", gpus=8, labels={"nvidia.com/gpu.product": "NVIDIA-L4"}), context="onprem")
    cpu_only = _node(node("cpu-1", gpus=0, cpu="16", memory="64Gi"), context="onprem")
    prices = price_nodes([onprem, cpu_only], book)
    assert prices[("onprem", "gpu-1")].hourly == pytest.approx(8 * 0.60)  # DEMO_KUBERNETES_PRICING L4 rate
    assert prices[("onprem", "cpu-1")].hourly == pytest.approx(16 * 0.032 + 64 * 0.0043)


def test_unknown_instance_type_is_unpriced_with_the_books_reason(book: PriceBook) -> None:
    record = _node(gke_node(labels={"node.kubernetes.io/instance-type": "z9-mega"}))
    price = price_nodes([record], book)[("ctx", "node-1")]
    assert (price.hourly, price.reason) == (None, "unknown_instance_type")
    assert price_nodes([record], None)[("ctx", "node-1")].reason == NO_PRICE_BOOK


@pytest.mark.parametrize(
    ("pod_changes", "node_changes", "expected"),
    [
        ({"gpus": 2, "cpu": "4"}, {"gpus": 8, "cpu": "96"}, 0.25),  # GPU share wins over CPU
        ({"gpus": 0, "cpu": "24"}, {"gpus": 8, "cpu": "96", "allocatable_cpu": "95800m"}, 24 / 95.8),
        ({"gpus": 0, "cpu": "16"}, {"gpus": 0, "cpu": "8"}, 1.0),  # capped at the whole node
        ({"gpus": 1, "cpu": "1"}, {"gpus": 0, "cpu": "4"}, 0.25),  # node offers no GPUs: CPU share
        ({"gpus": 0, "cpu": "0"}, {}, NO_REQUESTS),
        ({"gpus": 0, "cpu": "2"}, {"allocatable_cpu": "0"}, INCOMPLETE_RESOURCES),
    ],
)
def test_share_of_the_node(
    pod_changes: dict[str, object], node_changes: dict[str, object], expected: object
) -> None:
    result = share(_pod(**pod_changes), _node(node(**node_changes)))  # type: ignore[arg-type]
    assert result == (pytest.approx(expected) if isinstance(expected, float) else expected)


def _cluster(pods: Sequence[object], nodes: Sequence[object]) -> Cluster:
    return parse_cluster([ContextListing("ctx", tuple(pods), tuple(nodes))], RULES)


def test_replica_costs_only_for_pods_holding_resources(book: PriceBook) -> None:
    pods = [
        pod("a", gpus=1),
        pod("pending", node="", phase="Pending"),
        pod("gone", phase="Failed"),
        pod("lost-node", node="node-9"),
        pod("no-requests", gpus=0, cpu="0"),
    ]
    cluster = _cluster(pods, [gke_node()])
    node_prices = price_nodes(cluster.nodes.values(), book)
    costs = {cost.replica_id: cost for cost in price_replicas(cluster.pods, cluster.nodes, node_prices)}
    assert sorted(costs) == ["a", "lost-node", "no-requests"]
    whole = node_prices[("ctx", "node-1")].hourly
    assert costs["a"].price.hourly == whole  # one GPU of a one-GPU node
    assert (costs["a"].cloud, costs["a"].region, costs["a"].spot, costs["a"].price.source) == (
        "gcp",
        "us-central1",
        True,
        "catalog",
    )
    assert costs["lost-node"].price.reason == UNKNOWN_NODE
    assert costs["no-requests"].price.reason == NO_REQUESTS


def test_an_unpriced_node_leaves_its_pods_unpriced_with_its_reason(book: PriceBook) -> None:
    cluster = _cluster([pod()], [gke_node(labels={"node.kubernetes.io/instance-type": "z9-mega"})])
    costs = price_replicas(cluster.pods, cluster.nodes, price_nodes(cluster.nodes.values(), book))
    assert [cost.price.reason for cost in costs] == ["unknown_instance_type"]

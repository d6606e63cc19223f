"""The simulator's Kubernetes API: pagination from one snapshot, 410 after compaction, selectors, auth."""

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from kubernetes.client import CoreV1Api
from kubernetes.config import new_client_from_config

from simulator import Fault, Simulator
from simulator.kubernetes_selector import parse_selector

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(
        services=1, replicas_per_service=1, kubernetes_pods=60, kubernetes_nodes=12, kubernetes_clusters=2
    ) as running:
        yield running


def _get(sim: Simulator, path: str, **params: Any) -> requests.Response:
    assert sim.kubernetes is not None
    return requests.get(sim.kubernetes.url + path, params=params, timeout=TIMEOUT)


def _names(body: dict[str, Any]) -> list[str]:
    return [item["metadata"]["name"] for item in body["items"]]


def test_off_unless_asked_for() -> None:
    simulator = Simulator(services=1, replicas_per_service=1)
    assert simulator.kubernetes is None


def test_pages_come_from_the_snapshot_the_list_started_on(sim: Simulator) -> None:
    assert sim.kubernetes is not None
    context = sim.kubernetes.fleet.contexts[0]
    everything = _names(_get(sim, f"/clusters/{context}/api/v1/pods").json())
    first = _get(sim, f"/clusters/{context}/api/v1/pods", limit=25).json()
    token = first["metadata"]["continue"]
    assert first["metadata"]["remainingItemCount"] == len(everything) - 25
    sim.kubernetes.fleet.step(30)  # the cluster changes between pages
    names = _names(first)
    while token:
        page = _get(sim, f"/clusters/{context}/api/v1/pods", limit=25, **{"continue": token}).json()
        names += _names(page)
        token = page["metadata"].get("continue")
    assert names == everything


def test_compaction_expires_outstanding_tokens(sim: Simulator) -> None:
    assert sim.kubernetes is not None
    first = _get(sim, "/api/v1/pods", limit=5).json()
    sim.kubernetes.fleet.step(10)
    sim.kubernetes.fleet.compact()
    answer = _get(sim, "/api/v1/pods", limit=5, **{"continue": first["metadata"]["continue"]})
    assert answer.status_code == 410
    assert answer.json()["reason"] == "Expired" and answer.json()["kind"] == "Status"


def test_a_token_is_good_only_for_its_own_list(sim: Simulator) -> None:
    token = _get(sim, "/api/v1/pods", limit=5).json()["metadata"]["continue"]
    assert _get(sim, "/api/v1/nodes", limit=5, **{"continue": token}).status_code == 400
    assert _get(sim, "/api/v1/pods", limit=5, **{"continue": "garbage"}).status_code == 400


def test_label_selectors_and_namespaces(sim: Simulator) -> None:
    everything = _get(sim, "/api/v1/pods").json()["items"]
    selected = _get(
        sim, "/api/v1/pods", labelSelector="app.kubernetes.io/component=inference,!skypilot-cluster-name"
    ).json()
    assert len(selected["items"]) == sum(
        "skypilot-cluster-name" not in p["metadata"]["labels"] for p in everything
    )
    kserve = _get(sim, "/api/v1/namespaces/kserve/pods").json()["items"]
    assert kserve and {p["metadata"]["namespace"] for p in kserve} == {"kserve"}
    assert _get(sim, "/api/v1/pods", labelSelector="a in (b").status_code == 400


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("a=b", {"a": "b"}, True),
        ("a==b,c", {"a": "b"}, False),
        ("a!=b", {}, True),
        ("!a", {"a": "x"}, False),
        ("a in (x, y),b notin (z)", {"a": "y", "b": "w"}, True),
        ("a in (x,y)", {"a": "z"}, False),
        ("", {"any": "thing"}, True),
    ],
)
def test_selector_grammar(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_selector(selector)(labels) is expected


def test_every_context_has_its_own_cluster_and_unknown_ones_404(sim: Simulator) -> None:
    assert sim.kubernetes is not None
    first, second = sim.kubernetes.fleet.contexts
    one = _names(_get(sim, f"/clusters/{first}/api/v1/nodes").json())
    two = _names(_get(sim, f"/clusters/{second}/api/v1/nodes").json())
    assert one and two and not set(one) & set(two)
    assert _names(_get(sim, "/api/v1/nodes").json()) == one
    assert _get(sim, "/clusters/nope/api/v1/nodes").status_code == 404


def test_the_official_client_reads_the_simulator_through_its_kubeconfig(sim: Simulator) -> None:
    """Full model deserialisation: every field the simulator writes must fit the real API schema."""
    assert sim.kubernetes is not None and sim.kubernetes.kubeconfig is not None
    for context in sim.kubernetes.fleet.contexts:
        client = new_client_from_config(str(sim.kubernetes.kubeconfig), context, persist_config=False)  # type: ignore[no-untyped-call]
        api = CoreV1Api(client)
        pods = api.list_pod_for_all_namespaces(limit=1000, _request_timeout=TIMEOUT)
        nodes = api.list_node(_request_timeout=TIMEOUT)
        assert pods.items and nodes.items
        scheduled = {p.spec.node_name for p in pods.items if p.spec is not None and p.spec.node_name}
        assert scheduled <= {n.metadata.name for n in nodes.items if n.metadata is not None}


def test_token_and_faults() -> None:
    with Simulator(
        services=1, replicas_per_service=1, token="s3cret", kubernetes_pods=3, kubernetes_nodes=1
    ) as sim:
        assert sim.kubernetes is not None and sim.kubernetes.kubeconfig is not None
        assert "s3cret" in sim.kubernetes.kubeconfig.read_text()
        assert _get(sim, "/api/v1/pods").status_code == 401
        headers = {"Authorization": "Bearer s3cret"}
        url = sim.kubernetes.url + "/api/v1/pods"
        assert requests.get(url, headers=headers, timeout=TIMEOUT).status_code == 200
        sim.kubernetes.set_fault(Fault.ERROR_500)
        assert requests.get(url, headers=headers, timeout=TIMEOUT).status_code == 500
        sim.kubernetes.set_fault(Fault.NONE)
        assert sim.kubernetes.requests()["/api/v1/pods"] == 3
        kubeconfig = sim.kubernetes.kubeconfig
    assert not kubeconfig.exists()  # removed with the simulator


def test_continue_tokens_are_opaque_base64(sim: Simulator) -> None:
    token = _get(sim, "/api/v1/pods", limit=1).json()["metadata"]["continue"]
    decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert decoded["start"] == 1

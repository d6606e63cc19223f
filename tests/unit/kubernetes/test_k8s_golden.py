"""Golden exposition of the Kubernetes collector, built from fixed pod and node listings.

The rendered text exposition must equal ``golden/kubernetes.prom`` byte for byte. When a change to
the exposition is intended, regenerate the file with::

    UPDATE_GOLDEN=1 PYTHONPATH=$PWD python -m pytest tests/unit/kubernetes/test_k8s_golden.py

and review the diff before committing it.
"""

from pathlib import Path

from collectors.kubernetes.client import ClusterListings, ContextListing
from collectors.pricing import PriceBook
from tests.unit.golden import assert_golden, exposition
from tests.unit.kubernetes.fixtures import NOW, collector, gke_node, pod, write_kubeconfig

GOLDEN = Path(__file__).parent / "golden" / "kubernetes.prom"
INTERVAL = 30.0

_EMBED = {"app.kubernetes.io/name": "embed", "pod-template-hash": "5c4b3a291"}


def _listings() -> ClusterListings:
    """Two GKE nodes and two services: llama (one ready pod, one starting) and embed (one pending)."""
    nodes = (gke_node("node-1"), gke_node("node-2", labels={"cloud.google.com/gke-spot": "false"}))
    pods = (
        pod("llama-7d9f8b6c5-x2k4p", node="node-1"),
        pod("llama-7d9f8b6c5-q8m3z", node="node-2", ready=False),
        pod(
            "embed-5c4b3a291-h7j2k",
            labels=_EMBED,
            owner=("ReplicaSet", "embed-5c4b3a291"),
            node="",
            phase="Pending",
            ready=False,
            gpus=0,
        ),
    )
    return ClusterListings(listings=(ContextListing("prod", pods, nodes),), pages=1, restarts=0)


def test_exposition_matches_the_golden_file(tmp_path: Path, book: PriceBook) -> None:
    # The kubeconfig only lets the collector be configured: build never contacts the server.
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"prod": "https://127.0.0.1:6443"})
    kube = collector({"kubeconfig": str(kubeconfig), "contexts": ["prod"]}, book)
    # Two builds one interval apart on a fixed clock, so the accrued-cost counters hold a value.
    kube.build(_listings(), NOW - INTERVAL)
    build = kube.build(_listings(), NOW)
    assert_golden(exposition(build.families), GOLDEN)

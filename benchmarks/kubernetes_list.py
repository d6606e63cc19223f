"""How long one Kubernetes collection takes, and how much memory it needs, at 5,000 pods on 500 nodes.

    .venv/bin/python benchmarks/kubernetes_list.py [--pods 5000] [--nodes 500] [--clusters 1]
        [--page-size 500] [--runs 5]

The simulator's Kubernetes API runs in a child process (so serving does not compete with the
collector for the GIL) and the collector reads it through a generated kubeconfig with the real
``kubernetes`` client, as in production. Each run is the exporter's own runner (``run_once``:
fetch, build, render); the table gives the median and best run, then the same pages read the other
ways: the client's own model deserialisation (``list_pod_for_all_namespaces()`` returning V1Pod
objects), and our raw read (``_preload_content=False`` + ``json``). Memory is tracemalloc's peak
during one fetch+build, and what the fetched result keeps alive, next to keeping every page whole.
Results: docs/performance.md.
"""

import argparse
import json
import logging
import multiprocessing
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubernetes.client import CoreV1Api
from kubernetes.config import new_client_from_config

from collectors.kubernetes.collector import KubernetesCollector
from collectors.pricing import PriceBook, PricingConfig
from exporter.collector import CollectorContext
from exporter.metrics import samples_count
from exporter.runner import run_once
from simulator import Simulator
from simulator.demo import DEMO_KUBERNETES_PRICING, demo_catalog_dir

SELECTOR = "app.kubernetes.io/component=inference,!skypilot-cluster-name"


def _serve(pods: int, nodes: int, clusters: int, out: "multiprocessing.Queue[Any]", stop: Any) -> None:
    with Simulator(services=1, replicas_per_service=1, kubernetes_pods=pods, kubernetes_nodes=nodes,
                   kubernetes_clusters=clusters) as sim:  # fmt: skip
        assert sim.kubernetes is not None
        out.put((str(sim.kubernetes.kubeconfig), list(sim.kubernetes.fleet.contexts)))
        stop.wait()


@contextmanager
def simulated_clusters(pods: int, nodes: int, clusters: int) -> Iterator[tuple[Path, list[str]]]:
    out: multiprocessing.Queue[Any] = multiprocessing.Queue()
    stop = multiprocessing.Event()
    child = multiprocessing.Process(target=_serve, args=(pods, nodes, clusters, out, stop), daemon=True)
    child.start()
    try:
        kubeconfig, contexts = out.get(timeout=120)
        yield Path(kubeconfig), contexts
    finally:
        stop.set()
        child.join(10)


def _collector(kubeconfig: Path, contexts: list[str], page_size: int) -> KubernetesCollector:
    book = PriceBook.from_config(
        PricingConfig(catalog_dir=demo_catalog_dir(), kubernetes=DEMO_KUBERNETES_PRICING)
    )
    context = CollectorContext(
        session_factory=lambda: None,  # type: ignore[arg-type,return-value]  # unused by this collector
        clock=time.time,
        logger=logging.getLogger("benchmark"),
        environ={},
        offered=lambda: (book,),
    )
    section = {"kubeconfig": str(kubeconfig), "contexts": contexts, "page_size": page_size,
               "interval": "120s", "timeout": "120s",
               "selector": "app.kubernetes.io/component=inference"}  # fmt: skip
    return KubernetesCollector.from_config(section, context)


def _timed(action: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return times, result


def _pages(api: CoreV1Api, page_size: int, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    token = None
    while True:
        page: Any = api.list_pod_for_all_namespaces(
            label_selector=SELECTOR, limit=page_size, _continue=token, **kwargs
        )
        if kwargs.get("_preload_content") is False:
            body = json.loads(page.data)
            items.extend(body["items"])
            token = body["metadata"].get("continue")
        else:
            items.extend(page.items)
            token = page.metadata._continue
        if not token:
            return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--clusters", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with simulated_clusters(args.pods, args.nodes, args.clusters) as (kubeconfig, contexts):
        _report(_collector(kubeconfig, contexts, args.page_size), kubeconfig, contexts, args)


def _report(
    kube: KubernetesCollector, kubeconfig: Path, contexts: list[str], args: argparse.Namespace
) -> None:
    logger = logging.getLogger("benchmark")
    snapshots = [run_once(kube, time.time, logger) for _ in range(args.runs)]
    assert all(s.ok for s in snapshots), [s.error for s in snapshots]
    durations = [s.duration for s in snapshots]
    fetch_times, raw = _timed(kube.fetch, args.runs)
    build_times, build = _timed(lambda: kube.build(raw, time.time()), args.runs)
    pods = sum(len(listing.pods) for listing in raw.listings)
    nodes = sum(len(listing.nodes) for listing in raw.listings)
    print(
        f"{args.pods} pods on {args.nodes} nodes in {len(contexts)} cluster(s), page size {args.page_size}: "
        f"{pods} selected pods on {nodes} nodes, {raw.pages} list requests, "
        f"{sum(s.total_replicas for s in build.services)} replicas, {samples_count(build.families)} samples"
    )
    print("\n| step | median (s) | best (s) |\n|---|---|---|")
    for name, times in (("collection (run_once: fetch, build, render)", durations), ("fetch", fetch_times),
                        ("build", build_times)):  # fmt: skip
        print(f"| {name} | {statistics.median(times):.3f} | {min(times):.3f} |")
    client = new_client_from_config(str(kubeconfig), contexts[0], persist_config=False)  # type: ignore[no-untyped-call]
    api = CoreV1Api(client)
    model_times, _ = _timed(lambda: _pages(api, args.page_size), max(1, args.runs // 2))
    json_times, _ = _timed(lambda: _pages(api, args.page_size, _preload_content=False), args.runs)
    print(f"| pods of `{contexts[0]}` as V1Pod models (client deserialisation) | "
          f"{statistics.median(model_times):.3f} | {min(model_times):.3f} |")  # fmt: skip
    print(f"| the same pods as raw JSON (`_preload_content=False`) | "
          f"{statistics.median(json_times):.3f} | {min(json_times):.3f} |")  # fmt: skip
    _memory(kube, api, args.page_size)


def _memory(kube: KubernetesCollector, api: CoreV1Api, page_size: int) -> None:
    tracemalloc.start()
    raw = kube.fetch()
    kept_slim = tracemalloc.get_traced_memory()[0]
    kube.build(raw, time.time())
    peak = tracemalloc.get_traced_memory()[1]
    del raw
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    whole = _pages(api, page_size, _preload_content=False)
    kept_whole = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del whole
    mib = 1024 * 1024
    print(
        f"\nmemory: peak during fetch+build {peak / mib:.1f} MiB; the fetched (slimmed) pods and nodes "
        f"keep {kept_slim / mib:.1f} MiB; every page kept whole would keep {kept_whole / mib:.1f} MiB"
    )


if __name__ == "__main__":
    main()

"""What the console at ``/`` costs at 1,000 and 10,000 SkyServe replicas: render time and size.

    .venv/bin/python benchmarks/console.py [--shapes 1000x10,10000x100,10000x1000] [--requests 50]

For each shape (replicas x services) it starts the fleet simulator, runs the real SkyServe collector
(priced with the demo price list) and the real probes collector (every service and replica endpoint)
against it, stores their runs in a ``SnapshotStore`` as the scheduler does (families dropped, the
summaries kept), then asks the Flask app for ``/`` and ``/api/v1/status`` through its test client.
Timed per request (medians): the status document made from scratch (what the app does once after
each stored run), the page rendered from it, and whole requests as the running app answers them
(the fleet figures kept until the data served changes, ages made at each request). Sizes are the
bodies as served (uncompressed). It also times what the summaries add to a collection: the part of
the SkyServe build spent making them.
"""

import argparse
import json
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import requests

import collectors.skyserve.collector as skyserve_collector
from collectors.pricing import PriceBook, PricingConfig, replica_costs
from collectors.probes.collector import ProbesCollector
from collectors.skyserve.collector import SkyServeCollector
from collectors.skyserve.config import SkyServeConfig
from exporter.app import create_app
from exporter.collector import CollectorContext, Endpoint
from exporter.landing import landing_page
from exporter.runner import DeadlineRunner
from exporter.snapshot import SnapshotStore
from exporter.status import ConsoleSettings, status_document
from simulator import Simulator
from simulator.demo import DEMO_KUBERNETES_PRICING, demo_catalog_dir

DEMO_PRICING = {"catalog_dir": str(demo_catalog_dir()), "kubernetes": DEMO_KUBERNETES_PRICING}
LOG = logging.getLogger("bench.console")


def median_ms(action: Callable[[], object], times: int) -> float:
    taken = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        taken.append(time.perf_counter() - started)
    return statistics.median(taken) * 1000


def bench(replicas: int, services: int, requests_: int) -> dict[str, object]:
    per_service = replicas // services
    with Simulator(services=services, replicas_per_service=per_service, seed=1) as sim:
        book = PriceBook.from_config(PricingConfig.model_validate(DEMO_PRICING))
        store = SnapshotStore({}, started_at=time.time())
        sky = SkyServeCollector.from_config(
            SkyServeConfig(endpoint=sim.url, interval=60, timeout=60),
            CollectorContext(requests.Session, time.time, LOG, {}, offered=lambda: (book,)),
        )

        def discovered() -> tuple[Endpoint, ...]:
            view = {v.name: v for v in store.view(time.time())}["skyserve"]
            return view.serving.build.endpoints if view.serving and view.serving.build else ()

        probes = ProbesCollector.from_config(
            {"interval": "60s", "discover": {"replicas": True}},
            CollectorContext(requests.Session, time.time, LOG, {}, discovered=discovered),
        )
        for collector in (sky, probes):
            store.schedule(collector.name, collector.interval, 3 * collector.interval)
        probe_round = 0.0
        for collector in (sky, probes):
            started = time.perf_counter()
            snapshot = DeadlineRunner(collector, time.time, LOG).run()
            if collector is probes:
                probe_round = time.perf_counter() - started
            assert snapshot is not None and snapshot.ok, snapshot
            store.put(snapshot)
        build_ms, summaries_ms = summary_cost(sky)

        app = create_app(store, time.time, console=ConsoleSettings(demo=True)).test_client()
        document = status_document(store.view(time.time()), store.ready(), time.time())
        page = app.get("/")
        status = app.get("/api/v1/status")
        assert page.status_code == status.status_code == 200
        return {
            "replicas": services * per_service,
            "services": services,
            "probes": document["probes"]["total"] if document["probes"] else 0,
            "probe_round_s": probe_round,
            "document_ms": median_ms(
                lambda: status_document(store.view(time.time()), store.ready(), time.time()), requests_
            ),
            "render_ms": median_ms(lambda: landing_page(document), requests_),
            "page_ms": median_ms(lambda: app.get("/"), requests_),
            "json_ms": median_ms(lambda: app.get("/api/v1/status"), requests_),
            "page_bytes": len(page.data),
            "json_bytes": len(status.data),
            "rows_shown": page.data.count(b'<tbody class="group"'),
            "build_ms": build_ms,
            "summaries_ms": summaries_ms,
        }


def summary_cost(sky: SkyServeCollector, rounds: int = 5) -> tuple[float, float]:
    """Median SkyServe build time, and the mean time of it spent making the console's summaries
    (``_summary`` per service and the per-service cost sums)."""
    raw = sky.fetch()
    spent = [0.0]

    def timed(function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args)
            finally:
                spent[0] += time.perf_counter() - started

        return wrapper

    with (
        mock.patch.object(skyserve_collector, "_summary", timed(skyserve_collector._summary)),
        mock.patch.object(replica_costs, "_by_service", timed(replica_costs._by_service)),
    ):
        build = median_ms(lambda: sky.build(raw, time.time()), rounds)
    return build, spent[0] / rounds * 1000


def report(results: list[dict[str, object]]) -> str:
    lines = [
        "| replicas | services | probes | status document (cold) ms | page render ms | `GET /` ms "
        "| page bytes | service rows shown | `GET /api/v1/status` ms | JSON bytes "
        "| SkyServe build ms | of it, summaries ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['replicas']:,} | {r['services']:,} | {r['probes']:,} | {r['document_ms']:.1f} "
            f"| {r['render_ms']:.1f} | {r['page_ms']:.1f} | {r['page_bytes']:,} | {r['rows_shown']} "
            f"| {r['json_ms']:.1f} | {r['json_bytes']:,} "
            f"| {r['build_ms']:.0f} | {r['summaries_ms']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="1000x10,10000x100,10000x1000", help="replicas x services, ...")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="print the raw results too")
    args = parser.parse_args()
    results = []
    for shape in args.shapes.split(","):
        replicas, services = (int(part) for part in shape.split("x"))
        results.append(bench(replicas, services, args.requests))
        if args.json:
            print(json.dumps(results[-1]))
    print(report(results))


if __name__ == "__main__":
    main()

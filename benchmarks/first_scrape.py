"""The first gzipped scrape after a collection: gzip members made when the run is stored, or by it.

    .venv/bin/python benchmarks/first_scrape.py [--replicas 10000] [--collections 5]

In process, at each collection of a simulated fleet (moving 30 simulated seconds between them),
the SkyServe collector's run is stored in a snapshot store, then one gzipped OpenMetrics scrape
body is made. Twice: with the app's listener on the store, which gzips the families that changed
on the collector's thread while scrapers ask for gzip, and without it, so the scrape gzips them.
Medians over the collections after the first. Results: docs/performance.md.
"""

import argparse
import gc
import logging
import statistics
import time

import requests
from scrape import DEMO_PRICING

from collectors.pricing import PriceBook, PricingConfig
from collectors.skyserve.collector import SkyServeCollector
from collectors.skyserve.config import SkyServeConfig
from exporter.collector import CollectorContext
from exporter.exposition import scrape_body
from exporter.gzip_members import GzipMembers
from exporter.runner import DeadlineRunner
from exporter.series import Format
from exporter.snapshot import SnapshotStore
from simulator import Simulator


def first_scrapes(sim: Simulator, collections: int, ahead: bool) -> tuple[float, float]:
    """Median seconds of storing a run (listener included) and of the first scrape after it."""
    logger = logging.getLogger("bench")
    book = PriceBook.from_config(PricingConfig.model_validate(DEMO_PRICING))
    context = CollectorContext(requests.Session, time.time, logger, {}, offered=lambda: (book,))
    collector = SkyServeCollector.from_config(
        SkyServeConfig(endpoint=sim.url, interval=60, timeout=60), context
    )
    runner = DeadlineRunner(collector, time.time, logger)
    store = SnapshotStore({collector.name: (60, 180)})
    members = GzipMembers()
    if ahead:
        members.asked()
        store.on_put(members.stored)
    stores, scrapes = [], []
    for _ in range(collections):
        sim.fleet.step(30)
        snapshot = runner.run()
        assert snapshot is not None and snapshot.ok
        t0 = time.perf_counter()
        store.put(snapshot)
        t1 = time.perf_counter()
        scrape_body(store.view(time.time()), Format.OPENMETRICS, True, members=members)
        t2 = time.perf_counter()
        stores.append(t1 - t0)
        scrapes.append(t2 - t1)
    return statistics.median(stores[1:]), statistics.median(scrapes[1:])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replicas", type=int, default=10_000)
    parser.add_argument("--collections", type=int, default=5)
    args = parser.parse_args()
    gc.set_threshold(50_000, 20, 100)  # as the exporter runs
    services = max(1, args.replicas // 100)
    print("| gzip members made | storing a run ms | first scrape after it ms |")
    print("|---|---:|---:|")
    with Simulator(services=services, replicas_per_service=args.replicas // services, seed=1) as sim:
        for ahead, label in ((True, "when the run is stored"), (False, "by the first scrape")):
            stored, scraped = first_scrapes(sim, args.collections, ahead)
            print(f"| {label} | {stored * 1000:.1f} | {scraped * 1000:.1f} |")


if __name__ == "__main__":
    main()

"""Resident memory of the exporter serving a simulated fleet, sampled as collections go by.

    .venv/bin/python benchmarks/memory.py [--replicas 10000] [--samples 6] [--shards 1]

Starts the fleet simulator and ``skyserve-exporter`` (SkyServe collector every 5 s, the demo price
list), scrapes it as Prometheus would, and prints the exporter's VmRSS every 5 s. With
``--shards N``, N exporters share the fleet (``--shard i --total-shards N``), each scraped and
measured.
"""

import argparse
import tempfile
import time
from pathlib import Path

import requests
import yaml
from scrape import DEMO_PRICING, EXPORTER, HEADERS, free_port, rss_mib, start, stop

from simulator import Simulator


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replicas", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--shards", type=int, default=1, help="exporters sharing the fleet")
    args = parser.parse_args()
    services = max(1, args.replicas // 100)
    simulator = Simulator(services=services, replicas_per_service=args.replicas // services)
    with simulator as sim, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yml"
        skyserve = {"endpoint": sim.url, "interval": "5s", "timeout": "5s"}
        config.write_text(yaml.safe_dump({"collectors": {"skyserve": skyserve}, "pricing": DEMO_PRICING}))
        urls, exporters = [], []
        try:
            for shard in range(args.shards):
                port = free_port()
                url = f"http://127.0.0.1:{port}"
                argv = [str(EXPORTER), "--config", str(config), "--web.listen-address", f"127.0.0.1:{port}"]
                sharding = (
                    ["--shard", str(shard), "--total-shards", str(args.shards)] if args.shards > 1 else []
                )
                exporters.append(start([*argv, *sharding, "--log.level", "warning"], f"{url}/-/ready"))
                urls.append(url)
            for sample in range(args.samples):
                for url in urls:
                    requests.get(f"{url}/metrics", headers=HEADERS, timeout=60).raise_for_status()
                time.sleep(5)
                rss = ", ".join(f"{rss_mib(exporter.pid):.0f}" for exporter in exporters)
                print(f"after {5 * (sample + 1):3d} s: RSS {rss} MiB", flush=True)
        finally:
            for exporter in exporters:
                stop(exporter)


if __name__ == "__main__":
    main()

"""How long one bare-metal collection takes for many nodes when some of them hang.

    .venv/bin/python benchmarks/baremetal_checks.py [--nodes 500] [--hanging 0.05] [--timeout 5]
        [--concurrency 64,16] [--runs 3]

Every node is on loopback and hosts one replica, so a run makes two HTTP checks per node (the
node's health URL and the replica's health path). Healthy nodes are paths on one threaded HTTP
server in a child process (so it does not compete with the checks for the GIL); hanging nodes point
at a socket that accepts connections but never answers, so each of their checks uses its whole
timeout. Each run is the exporter's own runner (``run_once``: fetch, build, render) with the real
collector built from an inventory file; the table gives the median and the slowest run per
concurrency, and the run budget the collector computed (the deadline after which unfinished checks
would be cut off). Results: docs/performance.md.
"""

import argparse
import logging
import multiprocessing
import socket
import statistics
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import yaml
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

from collectors.baremetal.checks import run_budget
from collectors.baremetal.collector import BareMetalCollector
from exporter.collector import CollectorContext
from exporter.runner import run_once

HOST = "127.0.0.1"
INTERVAL = 30.0


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _ok(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    return Response("ok\n", mimetype="text/plain")(environ, start_response)


def _serve_healthy(ports: "multiprocessing.Queue[int]") -> None:
    server = make_server(HOST, 0, _ok, threaded=True, request_handler=_Quiet)
    ports.put(int(server.server_port))
    server.serve_forever(0.05)


@contextmanager
def healthy_server() -> Iterator[int]:
    """In its own process, so the server does not compete with the checks for the GIL."""
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    process = multiprocessing.Process(target=_serve_healthy, args=(ports,), daemon=True)
    process.start()
    try:
        yield ports.get(timeout=30)
    finally:
        process.terminate()
        process.join(5)


@contextmanager
def hanging_port() -> Iterator[int]:
    """Connections complete in the kernel's backlog and are never answered."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen(4096)
        yield int(sock.getsockname()[1])


def inventory(nodes: int, hanging: int, healthy_port: int, hung_port: int) -> dict[str, Any]:
    entries = []
    for index in range(nodes):
        port = hung_port if index < hanging else healthy_port
        entries.append(
            {
                "name": f"node-{index:04d}",
                "address": HOST,
                "provider": "hetzner",
                "region": "fsn1",
                "monthly_cost": 838.0,
                "health_url": f"http://{HOST}:{port}/node/{index}/health",
                "replicas": [
                    {"service_name": "llama", "port": port, "health_path": f"/replica/{index}/health"}
                ],
            }
        )
    return {"nodes": entries}


def measure(path: Path, timeout: float, concurrency: int, runs: int) -> list[float]:
    section = {"inventory": str(path), "timeout": timeout, "concurrency": concurrency, "interval": INTERVAL}
    logger = logging.getLogger("benchmark")
    context = CollectorContext(requests.Session, time.time, logger, {})
    collector = BareMetalCollector.from_config(section, context)
    durations = []
    for _ in range(runs):
        snapshot = run_once(collector, time.time, logger)
        if not snapshot.ok:
            raise SystemExit(f"collection failed: {snapshot.error}")
        durations.append(snapshot.duration)
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--hanging", type=float, default=0.05, help="share of nodes that never answer")
    parser.add_argument("--timeout", type=float, default=5.0, help="per-check timeout, seconds")
    parser.add_argument("--concurrency", default="64,16", help="comma-separated values to compare")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    hanging = round(args.nodes * args.hanging)
    checks = 2 * args.nodes
    setup = f"{args.nodes} nodes ({checks} checks), {hanging} hanging"
    print(f"{setup}, timeout {args.timeout:g}s, interval {INTERVAL:g}s")
    print("\n| concurrency | run budget | median run | slowest run |\n|---|---|---|---|")
    with healthy_server() as healthy, hanging_port() as hung, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inventory.yml"
        path.write_text(yaml.safe_dump(inventory(args.nodes, hanging, healthy, hung)), encoding="utf-8")
        for concurrency in (int(value) for value in args.concurrency.split(",")):
            durations = measure(path, args.timeout, concurrency, args.runs)
            budget = run_budget(checks, args.timeout, concurrency, INTERVAL)
            median, slowest = statistics.median(durations), max(durations)
            print(f"| {concurrency} | {budget:.1f} s | {median:.2f} s | {slowest:.2f} s |", flush=True)


if __name__ == "__main__":
    main()

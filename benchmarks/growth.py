"""How the exporter's cost grows with the fleet: RSS, collection cycle and scrape latency per size.

    .venv/bin/python benchmarks/growth.py                      # --sizes 1000,10000,50000,100000
    .venv/bin/python benchmarks/growth.py --sizes 100000 --services 1 --collections 4
    .venv/bin/python benchmarks/growth.py --sizes 10000 --root /tmp/base  # another checkout
    .venv/bin/python benchmarks/growth.py --sizes 100000 --shards 3        # three shards, side by side

For each size the fleet simulator runs in a child process with ``size / 100`` services of 100
replicas (``--services`` sets the count). With ``--tick 0`` (the default) the fleet is still, so
every exporter sees the same one; ``--tick 10`` with the 10 s interval changes most services
between two polls, the worst case for what the exporter reuses from its last poll. The exporter
runs as operators run it (``skyserve-exporter --config ...``, from the checkout's source: the
SkyServe collector and the demo price list, so every replica is priced). While it makes
``--collections`` collections it is scraped as Prometheus scrapes (one keep-alive connection,
OpenMetrics, gzip) twice a second. Reported per exporter process:

- **cycle**: the median of its own ``skyserve_exporter_collector_duration_seconds`` over the
  collections (fetch and decode of the answer, build, encode: what a run costs, upstream included);
- **upstream**: of that, what the simulated API server alone takes to answer ``serve.status``
  (submit and ``/api/get``, the body read but not decoded; median of 3, before the exporter starts);
- **scrape p50/p99**: those scrapes' latency, collections running beside them;
- **static p50**: the same bytes served as a constant by the exporter's HTTP server in a child
  process (the floor), scraped the same way, and the ratio;
- **RSS**: VmRSS at the end (steady) and VmHWM (the process's peak since start).

``--root`` runs another checkout's exporter (the code before a change) with this venv; ``--shards
N`` starts N exporters with ``--shard i --total-shards N`` against the same simulator.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml
from scrape import DEMO_PRICING, HEADERS, HERE, free_port, start, stop, wait_until

ROOT = HERE.parent
_DURATION = 'skyserve_exporter_collector_duration_seconds{collector="skyserve"}'
_SUCCESS = 'skyserve_exporter_collector_last_success_timestamp_seconds{collector="skyserve"}'


@dataclass(frozen=True)
class Measured:
    label: str
    upstream_s: float
    samples: int
    cycles: list[float]
    scrape_ms: list[float]
    static_ms: list[float]
    rss_mib: float
    peak_mib: float
    body_bytes: int

    def row(self) -> str:
        p50, static = statistics.median(self.scrape_ms), statistics.median(self.static_ms)
        cells = (
            self.label,
            f"{self.samples:,}",
            f"{self.upstream_s:.2f}",
            f"{statistics.median(self.cycles):.2f}",
            f"{max(self.cycles):.2f}",
            f"{p50:.1f}",
            f"{_p99(self.scrape_ms):.1f}",
            f"{static:.1f}",
            f"{p50 / static:.2f}x",
            f"{self.rss_mib:.0f}",
            f"{self.peak_mib:.0f}",
            f"{self.body_bytes:,}",
        )
        return "| " + " | ".join(cells) + " |"


HEADER = (
    "| fleet | samples | upstream s | cycle s (median) | cycle s (max) | scrape p50 ms | scrape p99 ms "
    "| static p50 ms | p50 vs static | RSS MiB | peak RSS MiB | bytes on the wire |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


class Scraper(threading.Thread):
    """Scrapes a URL as Prometheus does, every ``period`` seconds, keeping each latency."""

    def __init__(self, url: str, period: float) -> None:
        super().__init__(daemon=True)
        self.url, self.period = url, period
        self.latencies_ms: list[float] = []
        self.body_bytes = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        with requests.Session() as session:
            while not self.stopping.wait(self.period):
                latency_ms, self.body_bytes = scrape_once(session, self.url)
                self.latencies_ms.append(latency_ms)


def scrape_once(session: requests.Session, url: str) -> tuple[float, int]:
    """One scrape's latency in ms and bytes on the wire; the body is read as sent (gzip), as
    Prometheus reads it before its parser, not decompressed by the client."""
    t0 = time.perf_counter()
    response = session.get(url, headers=HEADERS, timeout=60, stream=True)
    response.raise_for_status()
    raw = response.raw.read(decode_content=False)
    return (time.perf_counter() - t0) * 1000, len(raw)


def upstream_seconds(endpoint: str) -> float:
    """What the API server alone takes to answer serve.status: submit, then /api/get read whole."""
    headers = {"X-SkyPilot-API-Version": "62", "X-SkyPilot-Version": "0.14.1"}
    took = []
    with requests.Session() as session:
        for _ in range(3):
            t0 = time.perf_counter()
            submitted = session.post(
                f"{endpoint}/serve/status", json={"service_names": None}, headers=headers
            )
            request_id = submitted.headers["X-Skypilot-Request-ID"]
            params = {"request_id": request_id}
            session.get(f"{endpoint}/api/get", params=params, headers=headers, timeout=60).raise_for_status()
            took.append(time.perf_counter() - t0)
    return statistics.median(took)


def run_exporter(  # noqa: PLR0917
    python_root: Path, config: Path, extra: list[str], collections: int, label: str, upstream: float
) -> tuple[Measured, bytes]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(python_root)}
    argv = [sys.executable, "-c", "from exporter.cli import main; main()", "--config", str(config)]
    argv += ["--web.listen-address", f"127.0.0.1:{port}", "--log.level", "warning", *extra]
    exporter = subprocess.Popen(argv, cwd=python_root, env=env)
    try:
        wait_until(lambda: requests.get(f"{url}/-/ready", timeout=5).ok, 600)
        scraper = Scraper(f"{url}/metrics", 0.5)
        scraper.start()
        cycles: list[float] = []
        last_success: float | None = None
        text = ""
        while len(cycles) < collections:
            time.sleep(0.5)
            text = requests.get(f"{url}/metrics", headers={"Accept": "text/plain"}, timeout=60).text
            success = _metric(text, _SUCCESS)
            if success is not None and success != last_success:
                if last_success is not None:  # the first seen may be the start-up's cold run
                    duration = _metric(text, _DURATION)
                    assert duration is not None
                    cycles.append(duration)
                last_success = success
        scraper.stopping.set()
        scraper.join()
        samples = sum(
            1 for line in text.splitlines() if line.startswith("skyserve_") and "exporter" not in line
        )
        body = requests.get(f"{url}/metrics", headers={"Accept": "text/plain"}, timeout=60).content
        rss, peak = _status_mib(exporter.pid, "VmRSS"), _status_mib(exporter.pid, "VmHWM")
    finally:
        stop(exporter)
    static = _static_latencies(body, len(scraper.latencies_ms))
    measured = Measured(
        label, upstream, samples, cycles, scraper.latencies_ms, static, rss, peak, scraper.body_bytes
    )
    return measured, body


def _static_latencies(body: bytes, scrapes: int) -> list[float]:
    with tempfile.NamedTemporaryFile(suffix=".txt") as file:
        file.write(body)
        file.flush()
        port = free_port()
        argv = [sys.executable, str(HERE / "servers.py"), "static", "--port", str(port)]
        argv += ["--body", file.name]
        proc = start(argv, f"http://127.0.0.1:{port}/metrics")
        try:
            latencies = []
            with requests.Session() as session:
                for _ in range(max(20, scrapes)):
                    latencies.append(scrape_once(session, f"http://127.0.0.1:{port}/metrics")[0])
                    time.sleep(0.05)
            return latencies
        finally:
            stop(proc)


def bench(size: int, services: int | None, args: argparse.Namespace) -> list[Measured]:
    count = services or max(1, size // 100)
    per_service = size // count
    port = free_port()
    simulator = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--services", str(count), "--replicas", str(per_service),
         "--port", str(port), "--tick", str(args.tick)],
        cwd=ROOT, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    fleet = f"{count * per_service:,} replicas in {count:,} services"
    try:
        wait_until(lambda: requests.get(f"{endpoint}/api/health", timeout=5).ok, 600)
        upstream = upstream_seconds(endpoint)
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.yml"
            skyserve = {"endpoint": endpoint, "interval": args.interval, "timeout": args.interval}
            config.write_text(yaml.safe_dump({"collectors": {"skyserve": skyserve}, "pricing": DEMO_PRICING}))
            root = Path(args.root).resolve()
            if args.shards <= 1:
                return [run_exporter(root, config, [], args.collections, fleet, upstream)[0]]
            shards = []
            for shard in range(args.shards):
                extra = ["--shard", str(shard), "--total-shards", str(args.shards)]
                label = f"{fleet}, shard {shard} of {args.shards}"
                shards.append(run_exporter(root, config, extra, args.collections, label, upstream)[0])
            return shards
    finally:
        simulator.terminate()
        simulator.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,50000,100000")
    parser.add_argument("--services", type=int, default=None, help="services per fleet (default: size / 100)")
    parser.add_argument("--collections", type=int, default=4)
    parser.add_argument("--interval", default="10s", help="the SkyServe collector's interval")
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose exporter runs")
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument(
        "--tick", type=float, default=0.0, help="seconds between the simulated fleet's steps (0: still)"
    )
    args = parser.parse_args()
    print(f"exporter code: {Path(args.root).resolve()}; load average {os.getloadavg()[0]:.1f}", flush=True)
    print(HEADER, flush=True)
    for size in (int(n) for n in args.sizes.split(",")):
        for measured in bench(size, args.services, args):
            print(measured.row(), flush=True)


if __name__ == "__main__":
    main()

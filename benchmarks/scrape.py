"""Scrape latency, throughput, collection cost and memory of the exporter at 1k and 10k replicas.

    .venv/bin/python benchmarks/scrape.py [--sizes 1000,10000] [--scrapes 200]

For each fleet size it starts the fleet simulator, then, one after the other on the same loopback:
the exporter as operators run it (``skyserve-exporter`` pointed at the simulator), the same bytes
served as a constant by the same server (the floor), and the naive design (families built and
encoded at every scrape). Each is scraped sequentially the way Prometheus asks (OpenMetrics or
text, gzip); a second pass fires concurrent scrapes for throughput. Collection + render per cycle is
timed in-process with the series store and gzip members the exporter uses. RSS is the exporter
process's VmRSS after several collections. Compare the columns within one run: the machine is shared
and noisy.
"""

import argparse
import logging
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from collectors.pricing import PriceBook, PricingConfig
from collectors.skyserve.collector import SkyServeCollector
from collectors.skyserve.config import SkyServeConfig
from exporter.collector import CollectorContext
from exporter.gzip_members import GzipMembers
from exporter.series import SeriesStore
from simulator import Simulator
from simulator.demo import DEMO_KUBERNETES_PRICING, demo_catalog_dir

HERE = Path(__file__).resolve().parent
# The demo's price list, so every replica is priced as in a configured production exporter.
DEMO_PRICING = {"catalog_dir": str(demo_catalog_dir()), "kubernetes": DEMO_KUBERNETES_PRICING}
EXPORTER = Path(sys.executable).with_name("skyserve-exporter")
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
HEADERS = {"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"}


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p99_ms: float
    per_second: float
    body_bytes: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError("server did not come up")


def measure(url: str, scrapes: int, concurrency: int, headers: dict[str, str] = HEADERS) -> Latency:
    session = requests.Session()
    session.get(url, headers=headers, timeout=60)  # warm-up
    times = []
    size = 0
    for _ in range(scrapes):
        started = time.perf_counter()
        response = session.get(url, headers=headers, timeout=60, stream=True)
        size = len(response.raw.read(decode_content=False))  # what crosses the wire, still gzipped
        times.append(time.perf_counter() - started)
    times.sort()
    throughput = _throughput(url, scrapes, concurrency, headers)
    return Latency(
        p50_ms=statistics.median(times) * 1000,
        p99_ms=times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
        per_second=throughput,
        body_bytes=size,
    )


def _throughput(url: str, scrapes: int, concurrency: int, headers: dict[str, str]) -> float:
    def one(_: int) -> None:
        with requests.Session() as session:
            for _ in range(max(1, scrapes // concurrency)):
                session.get(url, headers=headers, timeout=60).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(concurrency)))
    return concurrency * max(1, scrapes // concurrency) / (time.perf_counter() - started)


def start(argv: list[str], ready_url: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: requests.get(ready_url, timeout=5).status_code == 200, 120)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(10)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def collection_cycle(sim: Simulator, rounds: int, churn_seconds: float) -> dict[str, float]:
    """Median fetch/build/render of ``rounds`` collections, the fleet moving ``churn_seconds`` between.

    Render is what the exporter does once a collection is built: encode it into the collector's
    series (both formats) and, as Prometheus asks for gzip, gzip the families whose bytes changed.
    The first round renders cold; later ones reuse what did not change, as the running exporter does.
    """
    book = PriceBook.from_config(PricingConfig.model_validate(DEMO_PRICING))
    context = CollectorContext(
        requests.Session, time.time, logging.getLogger("bench"), {}, offered=lambda: (book,)
    )
    collector = SkyServeCollector.from_config(
        SkyServeConfig(endpoint=sim.url, interval=60, timeout=60), context
    )
    series, members = SeriesStore(), GzipMembers()
    fetch, build, encode = [], [], []
    samples = 0
    for _ in range(rounds):
        sim.fleet.step(churn_seconds)
        t0 = time.perf_counter()
        raw = collector.fetch()
        t1 = time.perf_counter()
        result = collector.build(raw, time.time())
        t2 = time.perf_counter()
        encoded = series.encode(result.families)
        members.of(collector.name, encoded)
        t3 = time.perf_counter()
        fetch.append(t1 - t0)
        build.append(t2 - t1)
        encode.append(t3 - t2)
        samples = encoded.samples
    return {
        "fetch_s": statistics.median(fetch[1:]),
        "build_s": statistics.median(build[1:]),
        "render_cold_s": encode[0],
        "render_s": statistics.median(encode[1:]),
        "samples": samples,
    }


def bench_size(replicas: int, scrapes: int, concurrency: int) -> dict[str, object]:
    services = max(1, replicas // 100)
    per_service = replicas // services
    results: dict[str, object] = {"replicas": services * per_service}
    with Simulator(services=services, replicas_per_service=per_service, seed=1) as sim:
        results["cycle"] = collection_cycle(sim, rounds=6, churn_seconds=30)
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.yml"
            skyserve = {"endpoint": sim.url, "interval": "5s", "timeout": "5s"}
            config.write_text(yaml.safe_dump({"collectors": {"skyserve": skyserve}, "pricing": DEMO_PRICING}))
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            exporter = start(
                [
                    str(EXPORTER),
                    "--config",
                    str(config),
                    "--web.listen-address",
                    f"127.0.0.1:{port}",
                    "--log.level",
                    "warning",
                ],
                f"{url}/-/ready",
            )
            try:
                results["exporter"] = measure(f"{url}/metrics", scrapes, concurrency)
                time.sleep(11)  # a few more collections before reading memory
                results["rss_mib"] = rss_mib(exporter.pid)
                body = requests.get(
                    f"{url}/metrics", headers={"Accept": PROMETHEUS_ACCEPT}, timeout=60
                ).content
            finally:
                stop(exporter)
            body_file = Path(tmp) / "body.txt"
            body_file.write_bytes(body)
            results["static"] = _bench_child(["static", "--body", str(body_file)], scrapes, concurrency)
            static = ["static", "--body", str(body_file)]
            # The same bytes from waitress, the server the exporter used before it owned its connections.
            waitress = [*static, "--server", "waitress"]
            results["static_waitress"] = _bench_child(waitress, scrapes, concurrency)
            # Uncompressed text (what curl gets), through both servers.
            plain = {"Accept": "text/plain", "Accept-Encoding": "identity"}
            few = max(5, scrapes // 5)
            results["plain_ours"] = _bench_child(static, few, concurrency, plain)
            results["plain_waitress"] = _bench_child(
                [*static, "--server", "waitress"], few, concurrency, plain
            )
            naive_scrapes = max(5, scrapes // 20)
            results["naive"] = _bench_child(["naive", "--endpoint", sim.url], naive_scrapes, concurrency)
    return results


def _bench_child(
    args: list[str], scrapes: int, concurrency: int, headers: dict[str, str] = HEADERS
) -> Latency:
    port = free_port()
    argv = [sys.executable, str(HERE / "servers.py"), args[0], "--port", str(port), *args[1:]]
    proc = start(argv, f"http://127.0.0.1:{port}/metrics")
    try:
        return measure(f"http://127.0.0.1:{port}/metrics", scrapes, concurrency, headers)
    finally:
        stop(proc)


def report(results: list[dict[str, object]]) -> str:
    lines = [
        "| replicas | server | p50 ms | p99 ms | scrapes/s (4 clients) | bytes on the wire |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        for kind in ("exporter", "static", "static_waitress", "naive", "plain_ours", "plain_waitress"):
            lat = r[kind]
            assert isinstance(lat, Latency)
            cells = (r["replicas"], kind, f"{lat.p50_ms:.1f}", f"{lat.p99_ms:.1f}", f"{lat.per_second:.1f}")
            lines.append(_row(*cells, lat.body_bytes))
    columns = (
        "replicas",
        "samples",
        "fetch s",
        "build s",
        "render s (cold)",
        "render s",
        "fetch + build + render s",
        "exporter RSS MiB",
        "p50 vs floor",
        "naive p50 / exporter p50",
    )
    lines += ["", _row(*columns), "|---:" * len(columns) + "|"]
    for r in results:
        cycle = r["cycle"]
        assert isinstance(cycle, dict)
        exp, floor, naive = r["exporter"], r["static"], r["naive"]
        assert isinstance(exp, Latency) and isinstance(floor, Latency) and isinstance(naive, Latency)
        seconds = [cycle[k] for k in ("fetch_s", "build_s", "render_cold_s", "render_s")]
        seconds.append(cycle["fetch_s"] + cycle["build_s"] + cycle["render_s"])
        lines.append(
            _row(
                r["replicas"],
                f"{cycle['samples']:.0f}",
                *(f"{value:.3f}" for value in seconds),
                f"{r['rss_mib']:.0f}",
                f"{exp.p50_ms / floor.p50_ms:.2f}x",
                f"{naive.p50_ms / exp.p50_ms:.0f}x",
            )
        )
    return "\n".join(lines)


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    results = [bench_size(int(n), args.scrapes, args.concurrency) for n in args.sizes.split(",")]
    print(report(results))


if __name__ == "__main__":
    main()

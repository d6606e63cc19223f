"""Probe rounds over 1,000 simulator endpoints with injected latency: ours next to blackbox_exporter.

    .venv/bin/python benchmarks/probes.py [--targets 1000] [--latency 0.1] [--concurrency 64]
    .venv/bin/python benchmarks/probes.py --exporter-source ../main    # another checkout's exporter

A child process runs the fleet simulator and serves its data plane (every service's and replica's
``/health``, answered by the simulator's own WSGI app) behind an asyncio front that waits
``--latency`` before answering: hundreds of waiting requests then cost the server no threads, and
the probing processes are measured apart from it. The endpoints are discovered the way the exporter
discovers them (the SkyServe collector against the simulator's API), then probed three ways:

- ``collector``: one round of the probes collector in this process (what ``/metrics`` serves);
- ``exporter /probe``: the exporter process, run from this checkout's source (or
  ``--exporter-source``'s, to compare two versions in the same conditions), driven through
  ``/probe`` by ``--concurrency`` client threads, as Prometheus's multi-target pattern drives it;
- ``blackbox /probe``: Debian's prometheus-blackbox-exporter, driven the same way.

The two processes take turns, ``--runs`` rounds each, and the fastest round of each is reported.
During each round a separate process scrapes the prober's own ``/metrics`` as Prometheus does
(one keep-alive connection, gzip), one scrape every 10 ms: its latency, next to the same scrapes'
for a second before any round, says whether heavy ``/probe`` use starves the scrapes.

Round time is wall time for all targets. Overhead per probe is the probe's own duration minus the
injected latency (what the prober adds: connection, parsing, scheduling), and CPU per probe is the
probing process's CPU time over the round divided by the targets (from /proc for the child
processes). The client threads that drive ``/probe`` cost CPU in this process, not counted.
"""

import argparse
import asyncio
import http.client
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from asyncio import StreamReader, StreamWriter
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import EnvironBuilder, run_wsgi_app

from collectors.probes.collector import ProbesCollector
from collectors.skyserve.collector import SkyServeCollector
from exporter.collector import CollectorContext, Endpoint
from simulator import Simulator
from simulator.counter import RequestCounter
from simulator.dataplane import DataPlaneApp

ROOT = Path(__file__).resolve().parents[1]
# Run from source (this checkout, or --exporter-source), whichever one the virtualenv has installed.
EXPORTER = [sys.executable, "-c", "from exporter.cli import main; main()"]
SCRAPE_PAUSE_SECONDS = 0.01
IDLE_SCRAPING_SECONDS = 1.0
SCRAPE_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "Accept-Encoding": "gzip",
}
BLACKBOX = "prometheus-blackbox-exporter"
LOG = logging.getLogger("benchmark")
HZ = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Row:
    name: str
    round_seconds: float
    overhead_ms: list[float]  # per probe: its duration minus the injected latency
    cpu_ms_per_probe: float
    succeeded: int
    targets: int
    scrape_ms: tuple[float, ...] = ()  # the prober's /metrics, scraped during the round
    idle_scrape_ms: tuple[float, ...] = ()  # and before any round

    def markdown(self) -> str:
        scrapes = (
            f"{_percentile(self.idle_scrape_ms, 0.5):.1f} | {_percentile(self.scrape_ms, 0.5):.1f} | "
            f"{_percentile(self.scrape_ms, 0.99):.1f} | {len(self.scrape_ms)}"
            if self.scrape_ms and self.idle_scrape_ms
            else "- | - | - | -"
        )
        return (
            f"| {self.name} | {self.round_seconds:.2f} | {_percentile(self.overhead_ms, 0.5):.2f} | "
            f"{_percentile(self.overhead_ms, 0.99):.2f} | {self.cpu_ms_per_probe:.2f} | "
            f"{self.succeeded}/{self.targets} | {scrapes} |"
        )


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return statistics.median(ordered) if q == 0.5 else ordered[min(len(ordered) - 1, int(len(ordered) * q))]


# --- the latency server (child process) --------------------------------------------------------


def serve(services: int, replicas: int, latency: float) -> None:
    """Child: the simulator's API and its delayed data plane; prints the API URL, runs until stdin ends."""
    with Simulator(services=services, replicas_per_service=replicas, seed=3) as sim:
        asyncio.run(_serve_data_plane(sim, latency))


async def _serve_data_plane(sim: Simulator, latency: float) -> None:
    app = DataPlaneApp(sim.fleet, RequestCounter())
    server = await asyncio.start_server(partial(_answer, app, latency), "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    sim.fleet.set_endpoint_base(f"http://127.0.0.1:{port}")
    print(json.dumps({"api": sim.url}), flush=True)
    await asyncio.to_thread(sys.stdin.read)
    server.close()


async def _answer(app: DataPlaneApp, latency: float, reader: StreamReader, writer: StreamWriter) -> None:
    """One request per connection (probes close theirs): the data plane's answer, ``latency`` late."""
    try:
        request_line = await reader.readline()
        while (await reader.readline()).strip():
            pass  # the headers do not matter
        await asyncio.sleep(latency)
        body, status, _ = run_wsgi_app(
            app, EnvironBuilder(path=request_line.split()[1].decode()).get_environ()
        )
        payload = b"".join(body)
        head = f"HTTP/1.1 {status}\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + payload)
        await writer.drain()
    except (ConnectionError, IndexError):
        pass  # a prober that gave up, or a malformed request
    finally:
        writer.close()


# --- the /metrics scraper (child process) --------------------------------------------------------


def scrape_until_eof(host: str, port: int) -> None:
    """Child: scrape ``/metrics`` until stdin ends, then print the latencies (ms) as JSON.

    A process of its own, so that its clock does not wait for the GIL of the client threads that
    drive ``/probe``. The gzipped body is read whole but not decompressed: what is timed is the
    server's answer, not this process's work.
    """
    stop = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    connection = http.client.HTTPConnection(host, port, timeout=30)

    def scrape() -> float:
        started = time.perf_counter()
        connection.request("GET", "/metrics", headers=SCRAPE_HEADERS)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"/metrics answered {response.status}")
        return (time.perf_counter() - started) * 1000

    scrape()  # the connection opened and the first answer cached: not part of the round
    print("ready", flush=True)
    latencies = []
    while not stop.wait(SCRAPE_PAUSE_SECONDS):
        latencies.append(scrape())
    print(json.dumps(latencies), flush=True)


class Scraper:
    """The scraper child for one round: started before it, its latencies collected after."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        argv = [sys.executable, __file__, "--scrape", f"{host}:{port}"]
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self._proc.stdout is not None
        if self._proc.stdout.readline().strip() != b"ready":
            raise SystemExit("the /metrics scraper did not start")

    def latencies(self) -> tuple[float, ...]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.close()
        found = tuple(json.loads(self._proc.stdout.readline()))
        self._proc.wait(30)
        return found


# --- measuring ---------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime + stime


def discover(api: str, count: int) -> tuple[Endpoint, ...]:
    context = CollectorContext(requests.Session, time.time, LOG, {})
    collector = SkyServeCollector.from_config({"endpoint": api}, context)
    endpoints = collector.build(collector.fetch(), time.time()).endpoints
    if len(endpoints) < count:
        raise SystemExit(f"the simulated fleet has {len(endpoints)} endpoints, fewer than {count}")
    return endpoints[:count]


def bench_collector(endpoints: tuple[Endpoint, ...], latency: float, concurrency: int) -> Row:
    context = CollectorContext(requests.Session, time.time, LOG, {}, discovered=lambda: endpoints)
    config = {"discover": {"replicas": True}, "concurrency": concurrency}
    collector = ProbesCollector.from_config(config, context)
    cpu, started = time.process_time(), time.perf_counter()
    outcomes = collector.fetch()
    collector.build(outcomes, time.time())
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    results = [result for _, result in outcomes]
    return Row(
        "collector round (in process)",
        elapsed,
        [(r.duration - latency) * 1000 for r in results],
        cpu * 1000 / len(results),
        sum(r.success for r in results),
        len(results),
    )


def drive(name: str, url: str, pid: int, targets: Sequence[str], *, latency: float, concurrency: int) -> Row:
    """``/probe`` for every target, ``concurrency`` at a time, as Prometheus would scrape them."""
    local = threading.local()

    def one(target: str) -> dict[str, float]:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        response = session.get(f"{url}/probe", params={"target": target, "module": "http_2xx"}, timeout=30)
        response.raise_for_status()
        return {s.name: s.value for f in text_string_to_metric_families(response.text) for s in f.samples}

    with ThreadPoolExecutor(concurrency) as pool:
        scraper = Scraper(url)
        cpu, started = cpu_seconds(pid), time.perf_counter()
        answers = list(pool.map(one, targets))
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
        scrapes = scraper.latencies()
    return Row(
        name,
        elapsed,
        [(a["probe_duration_seconds"] - latency) * 1000 for a in answers],
        cpu * 1000 / len(answers),
        int(sum(a["probe_success"] for a in answers)),
        len(answers),
        scrapes,
    )


def _wait(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def _free_port() -> int:
    import socket  # noqa: PLC0415 (only here)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(
    argv: list[str], ready: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    _wait(ready, 60)
    return proc


def _stop(procs: Iterable[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def idle_scrapes(url: str) -> tuple[float, ...]:
    scraper = Scraper(url)
    time.sleep(IDLE_SCRAPING_SECONDS)
    return scraper.latencies()


def bench_processes(
    api: str,
    endpoints: tuple[Endpoint, ...],
    *,
    latency: float,
    concurrency: int,
    runs: int,
    tmp: Path,
    source: Path,
) -> list[Row]:
    blackbox_port, exporter_port = _free_port(), _free_port()
    (tmp / "blackbox.yml").write_text(yaml.safe_dump({"modules": {"http_2xx": {"prober": "http"}}}))
    ours = {"skyserve": {"endpoint": api}, "probes": {"interval": "1h", "discover": {"replicas": True}}}
    (tmp / "exporter.yml").write_text(yaml.safe_dump({"collectors": ours}))
    blackbox_bin = shutil.which(BLACKBOX)
    if blackbox_bin is None:
        raise SystemExit(f"{BLACKBOX} is not installed (apt-get install {BLACKBOX})")
    procs = [
        _start(
            [
                blackbox_bin,
                f"--config.file={tmp / 'blackbox.yml'}",
                f"--web.listen-address=127.0.0.1:{blackbox_port}",
            ],
            f"http://127.0.0.1:{blackbox_port}/-/healthy",
        ),
        _start(
            [
                *EXPORTER,
                "--config",
                str(tmp / "exporter.yml"),
                "--web.listen-address",
                f"127.0.0.1:{exporter_port}",
            ],
            f"http://127.0.0.1:{exporter_port}/-/ready",
            {
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")])),
            },
            # python -c puts the working directory first on the path: the source's, not this one's.
            cwd=source,
        ),
    ]
    try:
        urls = [endpoint.url + "/health" for endpoint in endpoints]
        exporter = f"http://127.0.0.1:{exporter_port}"
        blackbox = f"http://127.0.0.1:{blackbox_port}"
        rounds: dict[str, list[Row]] = {"exporter /probe": [], "blackbox_exporter /probe": []}
        idle = [idle_scrapes(exporter), idle_scrapes(blackbox)]
        for _ in range(runs):
            # Turn about, so that a noisy moment of the shared machine does not favour either.
            for (name, rows), url, proc in zip(
                rounds.items(), (exporter, blackbox), (procs[1], procs[0]), strict=True
            ):
                rows.append(drive(name, url, proc.pid, urls, latency=latency, concurrency=concurrency))
        fastest = [min(rows, key=lambda row: row.round_seconds) for rows in rounds.values()]
        return [replace(row, idle_scrape_ms=scrapes) for row, scrapes in zip(fastest, idle, strict=True)]
    finally:
        _stop(procs)


def best_of(runs: int, bench: Callable[[], Row]) -> Row:
    """The fastest of ``runs`` rounds: the machine is shared, and noise only ever adds time."""
    return min((bench() for _ in range(runs)), key=lambda row: row.round_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds each endpoint waits to answer")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3, help="rounds per prober; the fastest is reported")
    parser.add_argument(
        "--exporter-source",
        type=Path,
        default=ROOT,
        help="the checkout whose exporter process runs (default: this one); another one, e.g. main's, "
        "compares before and after in the same run",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scrape", metavar="HOST:PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scrape:
        host, port = args.scrape.rsplit(":", 1)
        scrape_until_eof(host, int(port))
        return
    services = max(1, args.targets // 10)
    load_before = os.getloadavg()
    if args.serve:
        serve(services, 12, args.latency)
        return
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--targets", str(args.targets), "--latency", str(args.latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        api = json.loads(child.stdout.readline())["api"]
        endpoints = discover(api, args.targets)
        rows = [best_of(args.runs, lambda: bench_collector(endpoints, args.latency, args.concurrency))]
        with tempfile.TemporaryDirectory() as tmp:
            rows += bench_processes(
                api,
                endpoints,
                latency=args.latency,
                concurrency=args.concurrency,
                runs=args.runs,
                tmp=Path(tmp),
                source=args.exporter_source.resolve(),
            )
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(10)
    kinds = Counter(e.kind for e in endpoints)
    print(
        f"{len(endpoints)} endpoints ({', '.join(f'{n} {kind}' for kind, n in sorted(kinds.items()))}), "
        f"{args.latency * 1000:.0f} ms injected latency, "
        f"concurrency {args.concurrency}; sequential would take {len(endpoints) * args.latency:.0f} s; "
        f"load average {_load(load_before)} before, {_load(os.getloadavg())} after\n"
    )
    print(f"exporter from {args.exporter_source.resolve()}\n")
    print(
        "| prober | round (s) | overhead p50 (ms) | overhead p99 (ms) | CPU per probe (ms) | succeeded "
        "| /metrics idle p50 (ms) | /metrics during the round p50 (ms) | p99 (ms) | scrapes |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row.markdown())


def _load(averages: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in averages)


if __name__ == "__main__":
    main()

"""Memory soak of ``skyserve-exporter --demo``: RSS and series count per minute while scraped.

    .venv/bin/python benchmarks/soak.py [--minutes 12] [--interval 2s] [--scrape-every 3]

Runs the demo (the fleet simulator with churn plus every real collector) with every collector on
``--interval``, scrapes /metrics as Prometheus would (OpenMetrics, gzip) every ``--scrape-every``
seconds, prints VmRSS and the number of series each minute, and ends with the growth rate of the
first and the second half in MiB/min. A flat exporter grows under 0.1 MiB/min in its second half.
"""

import argparse
import gzip
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import yaml

HEADERS = {"Accept": "application/openmetrics-text; version=1.0.0", "Accept-Encoding": "gzip"}
EXPORTER = Path(sys.executable).with_name("skyserve-exporter")


def proc_status(pid: int) -> dict[str, str]:
    fields = (line.partition(":") for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {key: value.strip() for key, _, value in fields}


def rss_mib(pid: int) -> float:
    return int(proc_status(pid)["VmRSS"].split()[0]) / 1024


def series_count(body: bytes) -> int:
    return sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))


def scrape(url: str) -> bytes:
    # stream=True keeps requests from decoding the gzip itself, so the body is as sent.
    response = requests.get(f"{url}/metrics", headers=HEADERS, timeout=30, stream=True)
    response.raise_for_status()
    raw = response.raw.read()
    return gzip.decompress(raw) if response.headers.get("Content-Encoding") == "gzip" else raw


def wait_ready(url: str, process: subprocess.Popen[bytes], deadline_seconds: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exporter exited with {process.returncode}")
        try:
            if requests.get(f"{url}/-/ready", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise RuntimeError("exporter not ready in time")


def rate(points: list[tuple[float, float]]) -> float:
    """Least-squares slope in MiB/min of (minutes, MiB) points."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_m = sum(m for _, m in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (m - mean_m) for t, m in points) / var if var else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--interval", default="2s")
    parser.add_argument("--scrape-every", type=float, default=3.0)
    parser.add_argument("--port", type=int, default=19191)
    args = parser.parse_args()
    every = {"interval": args.interval}
    config = {
        "collectors": {
            "skyserve": dict(every),
            "kubernetes": dict(every),
            # A baremetal check must end before the next run is due.
            "baremetal": {**every, "timeout": "1s"},
            "probes": {**every, "discover": {"replicas": True}},
        }
    }
    url = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yml"
        path.write_text(yaml.safe_dump(config))
        listen = f"127.0.0.1:{args.port}"
        argv = [str(EXPORTER), "--config", str(path), "--demo", "--web.listen-address", listen]
        process = subprocess.Popen([*argv, "--log.level", "warning"], env=dict(os.environ))
        print(f"exporter pid {process.pid}", flush=True)
        try:
            wait_ready(url, process)
            started = time.monotonic()
            points: list[tuple[float, float]] = []
            next_report = started
            end = started + args.minutes * 60
            while True:
                series = series_count(scrape(url))
                now = time.monotonic()
                if now >= next_report or now >= end:
                    mib = rss_mib(process.pid)
                    threads = proc_status(process.pid)["Threads"]
                    points.append(((now - started) / 60, mib))
                    print(
                        f"min {(now - started) / 60:5.1f}: RSS {mib:7.1f} MiB, series {series}, "
                        f"threads {threads}",
                        flush=True,
                    )
                    next_report += 60
                if now >= end:
                    break
                time.sleep(args.scrape_every)
            half = args.minutes / 2
            first = [p for p in points if p[0] <= half]
            second = [p for p in points if p[0] >= half]
            print(
                f"growth: first half {rate(first):.3f} MiB/min, second half {rate(second):.3f} MiB/min, "
                f"RSS {points[0][1]:.1f} -> {points[-1][1]:.1f} MiB",
                flush=True,
            )
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()

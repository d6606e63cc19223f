"""Resident memory of ``skyserve-exporter --demo`` over a long run, every collector every 2 s.

    .venv/bin/python benchmarks/soak.py [--minutes 20] [--interval 2s] [--scrape-every 5]

Starts the demo (its simulator runs inside the exporter process, so its memory counts too) with
every collector's interval set to ``--interval``, scrapes /metrics as Prometheus does (OpenMetrics,
gzip) every ``--scrape-every`` seconds, and prints the exporter's VmRSS and the series count once a
minute, then the growth rate of each half of the run (least-squares slope of every RSS sample in
that half, MiB/min). A leak shows as a second half that keeps growing; the first half includes the
warm-up. Longer than 10 minutes, run it in the background::

    nohup .venv/bin/python benchmarks/soak.py --minutes 20 > /tmp/soak.txt 2>&1 &
"""

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml
from scrape import EXPORTER, HEADERS, free_port, rss_mib, start, stop


@dataclass(frozen=True)
class Sample:
    minutes: float  # since the exporter was ready
    rss_mib: float
    series: int
    scrape_ms: float


@dataclass(frozen=True)
class SoakResult:
    samples: tuple[Sample, ...]
    first_half_mib_per_min: float
    second_half_mib_per_min: float
    peak_mib: float  # VmHWM at the end


def demo_config(interval: str) -> dict[str, object]:
    """Every collector the demo runs, each every ``interval`` (the demo fills in where they point)."""
    return {
        "collectors": {
            "skyserve": {"interval": interval},
            # Its per-check timeout must be shorter than the interval.
            "baremetal": {"interval": interval, "timeout": "1s"},
            "kubernetes": {"interval": interval},
            "probes": {"interval": interval, "discover": {"replicas": True}},
        }
    }


def vm_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def series_count(body: bytes) -> int:
    text = gzip.decompress(body).decode()
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def slope_mib_per_min(samples: list[Sample]) -> float:
    if len(samples) < 2:
        return float("nan")
    fit = statistics.linear_regression([s.minutes for s in samples], [s.rss_mib for s in samples])
    return fit.slope


def soak(minutes: float, interval: str, scrape_every: float) -> SoakResult:
    """Run the demo for ``minutes``, printing a line a minute; the samples and growth rates."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yml"
        config.write_text(yaml.safe_dump(demo_config(interval)))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        argv = [str(EXPORTER), "--config", str(config), "--demo", "--web.listen-address", f"127.0.0.1:{port}"]
        exporter = start([*argv, "--log.level", "warning"], f"{url}/-/ready")
        samples: list[Sample] = []
        try:
            session = requests.Session()  # Prometheus keeps its connection to a target alive
            started = time.monotonic()
            next_scrape = started
            next_report = 1.0
            print("| minute | RSS MiB | series | scrape ms |", "|---:|---:|---:|---:|", sep="\n", flush=True)
            while (elapsed := (time.monotonic() - started) / 60) < minutes:
                t0 = time.perf_counter()
                response = session.get(f"{url}/metrics", headers=HEADERS, timeout=30, stream=True)
                body = response.raw.read(decode_content=False)
                took = (time.perf_counter() - t0) * 1000
                response.raise_for_status()
                samples.append(Sample(elapsed, rss_mib(exporter.pid), series_count(body), took))
                if elapsed >= next_report:
                    last = samples[-1]
                    print(
                        f"| {next_report:.0f} | {last.rss_mib:.2f} | {last.series} | {last.scrape_ms:.1f} |",
                        flush=True,
                    )
                    next_report += 1
                next_scrape += scrape_every
                time.sleep(max(0.0, next_scrape - time.monotonic()))
            if samples:
                last = samples[-1]
                print(
                    f"| {last.minutes:.1f} | {last.rss_mib:.2f} | {last.series} | {last.scrape_ms:.1f} |",
                    flush=True,
                )
            peak = vm_hwm_mib(exporter.pid)
            if exporter.poll() is not None:
                raise RuntimeError(f"the exporter exited {exporter.returncode} during the soak")
        finally:
            stop(exporter)
    half = minutes / 2
    return SoakResult(
        samples=tuple(samples),
        first_half_mib_per_min=slope_mib_per_min([s for s in samples if s.minutes < half]),
        second_half_mib_per_min=slope_mib_per_min([s for s in samples if s.minutes >= half]),
        peak_mib=peak,
    )


def summary(result: SoakResult) -> str:
    first, last = result.samples[0], result.samples[-1]
    return "\n".join(
        [
            f"samples: {len(result.samples)}; RSS {first.rss_mib:.2f} -> {last.rss_mib:.2f} MiB "
            f"(VmHWM {result.peak_mib:.2f} MiB); series {first.series} -> {last.series}",
            f"growth, first half:  {result.first_half_mib_per_min:+.3f} MiB/min",
            f"growth, second half: {result.second_half_mib_per_min:+.3f} MiB/min "
            f"({'flat' if result.second_half_mib_per_min < 0.1 else 'GROWING'}: the bar is < 0.1 MiB/min)",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--interval", default="2s", help="every collector's interval")
    parser.add_argument("--scrape-every", type=float, default=5.0, help="seconds between scrapes")
    args = parser.parse_args()
    print(f"soak: {args.minutes:g} min of --demo, collectors every {args.interval}", flush=True)
    result = soak(args.minutes, args.interval, args.scrape_every)
    print(summary(result), flush=True)
    sys.exit(0 if result.second_half_mib_per_min < 0.1 else 1)


if __name__ == "__main__":
    main()

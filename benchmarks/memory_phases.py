"""Where the memory of one SkyServe collection goes, phase by phase.

    .venv/bin/python benchmarks/memory_phases.py [--replicas 100000] [--services 1] [--cycles 3] [--trace]

The fleet simulator runs in a child process (so its own fleet is not counted); this process is the
exporter's collection path alone: the SkyServe collector (priced with the demo price list), its
series store and the gzip members, run as the exporter runs them, one collection after another
while the last one is still held (as it is while served). For each phase it prints the process's
RSS after the phase and its high-water mark during the phase (``VmHWM``, reset before each phase
through ``/proc/self/clear_refs``). With ``--trace`` the phases are split further with tracemalloc
(slower): the answer's bytes, the JSON decoded, the records, the samples, the encoded series, and
what each phase allocated at its peak.
"""

import argparse
import gc
import logging
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import requests
from scrape import DEMO_PRICING, free_port, wait_until

from collectors.pricing import PriceBook, PricingConfig
from collectors.skyserve.collector import Polled, SkyServeCollector
from collectors.skyserve.config import SkyServeConfig
from exporter.collector import CollectorContext
from exporter.gzip_members import GzipMembers
from exporter.series import SeriesStore

ROOT = Path(__file__).resolve().parent.parent


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def _reset_peak() -> None:
    # "5" resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0).
    Path("/proc/self/clear_refs").write_text("5")


def _mib(kib: int) -> float:
    return kib / 1024


class Phases:
    """Runs phases, printing RSS after each and its high-water mark during it."""

    def __init__(self, trace: bool) -> None:
        self.trace = trace
        self.rows: list[tuple[str, float, float, float, float, float]] = []

    def run(self, name: str, step: Callable[[], Any]) -> Any:
        gc.collect()
        _reset_peak()
        before = _status_kib("VmRSS")
        if self.trace:
            tracemalloc.reset_peak()
            traced_before = tracemalloc.get_traced_memory()[0]
        t0 = time.perf_counter()
        result = step()
        seconds = time.perf_counter() - t0
        peak, after = _status_kib("VmHWM"), _status_kib("VmRSS")
        traced_peak = traced_held = float("nan")
        if self.trace:
            current, top = tracemalloc.get_traced_memory()
            traced_peak, traced_held = (top - traced_before) / 2**20, (current - traced_before) / 2**20
        self.rows.append((name, seconds, _mib(before), _mib(peak), _mib(after), traced_peak))
        extra = f"  traced: +{traced_held:7.1f} held, +{traced_peak:7.1f} peak" if self.trace else ""
        print(
            f"{name:<34} {seconds:6.3f} s  RSS {_mib(before):6.1f} -> {_mib(after):6.1f} MiB,"
            f" high-water {_mib(peak):6.1f} MiB{extra}",
            flush=True,
        )
        return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replicas", type=int, default=100_000)
    parser.add_argument("--services", type=int, default=1)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    port = free_port()
    simulator = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--services", str(args.services), "--port", str(port),
         "--replicas", str(args.replicas // args.services), "--tick", "0"],
        cwd=ROOT, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{url}/api/health", timeout=5).ok, 300)
        measure(url, args)
    finally:
        simulator.terminate()
        simulator.wait()


def measure(url: str, args: argparse.Namespace) -> None:
    gc.set_threshold(50_000, 20, 100)  # as the exporter runs
    try:
        from exporter.allocator import keep_big_blocks_apart  # noqa: PLC0415
    except ImportError:  # --root code from before it
        pass
    else:
        keep_big_blocks_apart()
    if args.trace:
        tracemalloc.start()
    phases = Phases(args.trace)
    book = PriceBook.from_config(PricingConfig.model_validate(DEMO_PRICING))
    context = CollectorContext(
        requests.Session, time.time, logging.getLogger("bench"), {}, offered=lambda: (book,)
    )
    collector = SkyServeCollector.from_config(SkyServeConfig(endpoint=url, interval=60, timeout=60), context)
    series, members = SeriesStore(), GzipMembers()
    print(f"imports and collector: RSS {_mib(_status_kib('VmRSS')):.1f} MiB", flush=True)
    served: Any = None
    for cycle in range(args.cycles):
        print(f"-- collection {cycle + 1} ({args.replicas:,} replicas in {args.services} services)")
        if args.trace:
            answer = phases.run("fetch: HTTP, JSON to wire records", collector._client.fetch)
            polled = phases.run("decode: wire records to records", partial(Polled.decode, answer))
            del answer
        else:
            polled = phases.run("fetch + decode", collector.fetch)
        build = phases.run("build: samples", partial(collector.build, polled, time.time()))
        del polled
        encoded = phases.run("encode: series store", partial(series.encode, build.families))
        del build
        phases.run("gzip members", partial(members.of, collector.name, encoded))
        served = encoded  # the snapshot now served; the last one is let go
        del encoded
        gc.collect()
        print(f"   held after the collection: RSS {_mib(_status_kib('VmRSS')):.1f} MiB, "
              f"{served.samples:,} samples", flush=True)  # fmt: skip
    peak = max(row[3] for row in phases.rows)
    print(
        f"highest RSS during any phase: {peak:.1f} MiB; RSS at the end {_mib(_status_kib('VmRSS')):.1f} MiB"
    )


if __name__ == "__main__":
    main()

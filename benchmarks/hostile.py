"""The "survive a hostile day" table, row by row, against the real exporter process.

    .venv/bin/python benchmarks/hostile.py [--rows 0,1,2,3,4,5,6,7] [--trickle-seconds 60] ...

Each row starts the fleet simulator in this process, writes a config aiming the SkyServe collector
at it, runs ``skyserve-exporter`` on loopback, does the hostile thing while scraping /metrics as
Prometheus does (a fresh connection each time, so every scrape also goes through accept), and
prints one line of a markdown table: the scrapes' status and latency while the fault was on, the
collector's state afterwards, and the exporter's peak RSS (VmHWM, and the highest VmRSS sampled).

    0  baseline: a healthy upstream, for comparison
    1  1,000 idle keep-alive connections + 100 slowloris ones (a header byte a second, reopened as
       the server closes them), held for --hold-seconds (the idle ones are reaped at 120 s)
    2  the upstream trickles /api/get a byte a second for --trickle-seconds, collector timeout
       --trickle-timeout
    3  a 200 MB /api/get answer, collector body_size_limit --body-size-limit
    4  JSON nested 100,000 deep
    5  one service named "lone-\\ud800" (a lone surrogate)
    6  GET /static/<file>
    7  kill -HUP
    8  the soak (benchmarks/soak.py), only when asked for: --rows 8 --soak-minutes 20

Everything is on 127.0.0.1, bounded in count and time, and stops by itself.
"""

import argparse
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
import soak
import yaml
from prometheus_client.parser import text_string_to_metric_families
from scrape import EXPORTER, HEADERS, free_port, rss_mib

from simulator import Fault, Simulator
from simulator.hostile import HUGE_BODY_BYTES, LONE_SURROGATE_NAME
from simulator.siege import Kind, Siege, raise_open_files_limit

HEADER_TIMEOUT = 5.0  # the exporter's ServerLimits: read_header_timeout
IDLE_TIMEOUT = 120.0  # and idle_timeout
SCRAPE_TIMEOUT = 10.0
SLOW_SCRAPE_SECONDS = 1.0  # a scrape of this small fleet normally takes milliseconds
STATIC_PATHS = ("/static/x", "/static/landing.html", "/static/app.js", "/static/../exporter/app.py")
ALL_ROWS = "0,1,2,3,4,5,6,7"
AFTER_RUN_SECONDS = 3.0  # scraping on after a failed run: the failure must not hold scrapes up

T = TypeVar("T")


@dataclass
class Row:
    number: str
    what: str
    scrapes: str = "-"
    p50_ms: str = "-"
    max_ms: str = "-"
    up: str = "-"
    reason: str = "-"
    skipped: str = "-"
    rss: str = "-"
    verdict: str = "?"
    notes: list[str] = field(default_factory=list)

    def cells(self) -> tuple[str, ...]:
        return (
            self.number,
            self.what,
            self.scrapes,
            self.p50_ms,
            self.max_ms,
            self.up,
            self.reason,
            self.skipped,
            self.rss,
            self.verdict,
            "; ".join(self.notes),
        )


COLUMNS = (
    "#",
    "what was done",
    "scrapes 200/total",
    "p50 ms",
    "max ms",
    "collector_up",
    "error reason (runs)",
    "records skipped",
    "RSS peak MiB (VmHWM / sampled)",
    "verdict",
    "notes",
)


class Scraper:
    """Scrapes /metrics every ``every`` seconds on a thread, each time on a new connection."""

    def __init__(self, url: str, every: float) -> None:
        self._url = f"{url}/metrics"
        self._every = every
        self._results: list[tuple[int | None, float]] = []  # status (None: no answer), seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scraper", daemon=True)

    def __enter__(self) -> "Scraper":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(SCRAPE_TIMEOUT + 1)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                response = requests.get(self._url, headers=HEADERS, timeout=SCRAPE_TIMEOUT)
                status: int | None = response.status_code
            except requests.RequestException:
                status = None
            self._results.append((status, time.perf_counter() - started))
            self._stop.wait(self._every)

    def fill(self, row: Row) -> bool:
        """Write the scrape columns of ``row``; whether every scrape answered 200 in time."""
        results = list(self._results)
        if not results:
            return False
        ok = sum(1 for status, _ in results if status == 200)
        latencies = [seconds for _, seconds in results]
        row.scrapes = f"{ok}/{len(results)}"
        row.p50_ms = f"{statistics.median(latencies) * 1000:.1f}"
        row.max_ms = f"{max(latencies) * 1000:.1f}"
        return ok == len(results) and max(latencies) < SLOW_SCRAPE_SECONDS


class RssSampler:
    """The process's VmRSS every 0.1 s: VmHWM alone cannot tell a run's peak from startup's."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.peak = max(self.peak, rss_mib(self._pid))
            except OSError:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


class RunningExporter:
    """``skyserve-exporter`` with SkyServe aimed at ``sim``; its log kept in a file."""

    def __init__(self, sim: Simulator, tmp: Path, **skyserve: str) -> None:
        section = {"endpoint": sim.url, "interval": "5s", **skyserve}
        config = tmp / "config.yml"
        config.write_text(yaml.safe_dump({"collectors": {"skyserve": section}}))
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = tmp / f"exporter-{port}.log"
        self._log = self.log_path.open("wb")
        argv = [str(EXPORTER), "--config", str(config), "--web.listen-address", f"127.0.0.1:{port}"]
        self.proc = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        self.rss = RssSampler(self.proc.pid)
        wait(self._healthy, 60, "the exporter to answer")

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"exporter exited {self.proc.returncode}:\n{self.log()}")
        try:
            return requests.get(f"{self.url}/-/healthy", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def status(self) -> dict[str, Any]:
        document = requests.get(f"{self.url}/api/v1/status", timeout=SCRAPE_TIMEOUT).json()
        (entry,) = [c for c in document["collectors"] if c["name"] == "skyserve"]
        return dict(entry)

    def samples(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = requests.get(f"{self.url}/metrics", timeout=SCRAPE_TIMEOUT).text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def first_run(self, timeout: float) -> dict[str, Any]:
        return wait(lambda: self.status() if self.status()["last_run"] else None, timeout, "a first run")

    def rss_peak(self) -> str:
        return f"{soak.vm_hwm_mib(self.proc.pid):.0f} / {self.rss.peak:.0f}"

    def stop(self) -> None:
        self.rss.stop()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


def wait(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")


def fill_collector(row: Row, exporter: RunningExporter) -> dict[str, Any]:
    """The collector columns of ``row`` from /api/v1/status; the status entry."""
    entry = exporter.status()
    row.up = "1" if entry["up"] else "0"
    errors = {kind: count for kind, count in entry["errors"].items() if count}
    row.reason = ", ".join(f"{kind} ({count})" for kind, count in sorted(errors.items())) or "none"
    skipped = entry["records_skipped"]
    row.skipped = ", ".join(f"{reason}: {count}" for reason, count in sorted(skipped.items())) or "0"
    row.rss = exporter.rss_peak()
    return entry


@contextmanager
def exporter_on(fault: Fault, tmp: Path, **skyserve: str) -> Iterator[tuple[Simulator, RunningExporter]]:
    """A simulator with ``fault`` already on, and an exporter reading it from its first run."""
    with Simulator(services=4, replicas_per_service=5, seed=1) as sim:
        sim.set_fault(fault)
        exporter = RunningExporter(sim, tmp, **skyserve)
        try:
            yield sim, exporter
        finally:
            sim.set_fault(Fault.NONE)
            exporter.stop()


def row_baseline(args: argparse.Namespace, tmp: Path) -> Row:
    row = Row("0", "baseline: a healthy upstream, interval 5s")
    with exporter_on(Fault.NONE, tmp) as (_, exporter), Scraper(exporter.url, 0.5) as scraper:
        exporter.first_run(30)
        time.sleep(10)
        scrapes_ok = scraper.fill(row)
        entry = fill_collector(row, exporter)
    row.verdict = "PASS" if scrapes_ok and entry["up"] else "FAIL"
    return row


def row_siege(args: argparse.Namespace, tmp: Path) -> Row:
    kind = Kind(args.idle_kind)
    row = Row(
        "1", f"{args.idle:,} idle ({kind}) + {args.slowloris} slowloris connections, {args.hold_seconds:g}s"
    )
    raise_open_files_limit()
    with exporter_on(Fault.NONE, tmp) as (_, exporter):
        exporter.first_run(30)
        counts = {"silent": 0, "keepalive": 0, args.idle_kind: args.idle}
        siege = Siege(
            "127.0.0.1",
            int(exporter.url.rsplit(":", 1)[1]),
            silent=counts["silent"],
            keepalive=counts["keepalive"],
            slowloris=args.slowloris,
            reopen_slowloris=True,
        )
        with siege, Scraper(exporter.url, 0.5) as scraper:
            held_until = time.monotonic() + args.hold_seconds
            while time.monotonic() < held_until:
                time.sleep(1)
            report = siege.report()
        scrapes_ok = scraper.fill(row)
        fill_collector(row, exporter)
    slow, idle = report[Kind.SLOWLORIS], report[kind]
    slow_ok = bool(slow.closed_after) and max(slow.closed_after) < HEADER_TIMEOUT + 2
    expected_idle = IDLE_TIMEOUT if kind is Kind.KEEPALIVE else HEADER_TIMEOUT
    idle_ok = idle.open_now == 0 and max(idle.closed_after) < expected_idle + 5
    row.notes.append(f"slowloris: {slow.opened} opened, {slow.close_summary()}")
    row.notes.append(
        f"idle: {idle.opened} opened, {idle.open_now} still open at the end, {idle.close_summary()}"
    )
    if idle.failed_to_open or slow.failed_to_open:
        row.notes.append(f"failed to connect: {idle.failed_to_open + slow.failed_to_open}")
    row.verdict = "PASS" if scrapes_ok and slow_ok and idle_ok else "FAIL"
    return row


def row_trickle(args: argparse.Namespace, tmp: Path) -> Row:
    timeout = f"{args.trickle_timeout:g}s"
    row = Row("2", f"upstream trickles a byte/s for {args.trickle_seconds:g}s, timeout {timeout}")
    with exporter_on(Fault.TRICKLE, tmp, interval=timeout, timeout=timeout) as (sim, exporter):
        started = time.monotonic()
        with Scraper(exporter.url, 1.0) as scraper:
            entry = exporter.first_run(args.trickle_timeout + 30)
            timed_out_after = time.monotonic() - started
            time.sleep(max(0.0, args.trickle_seconds - (time.monotonic() - started)))
        scrapes_ok = scraper.fill(row)
        fill_collector(row, exporter)
        skipped_runs = _runs_skipped(exporter)
        sim.set_fault(Fault.NONE)
        cleared = time.monotonic()
        recovered = _recovered(exporter, args.trickle_timeout * 2 + 10)
        recovery = (
            f"up again {time.monotonic() - cleared:.1f}s after the fault cleared"
            if recovered
            else "no recovery"
        )
    last = entry["last_run"]
    row.notes.append(
        f"first run ended {timed_out_after:.1f}s after start, lasting {last['duration_seconds']:.1f}s"
    )
    row.notes.append(f"runs skipped while stuck: {skipped_runs:g}")
    row.notes.append(recovery)
    ok = last["error_kind"] == "timeout" and last["duration_seconds"] < args.trickle_timeout + 1.5
    row.verdict = "PASS" if ok and scrapes_ok and row.up == "0" else "FAIL"
    return row


def _runs_skipped(exporter: RunningExporter) -> float:
    name = "skyserve_exporter_collector_runs_skipped_total"
    return sum(
        v
        for (n, labels), v in exporter.samples().items()
        if n == name and ("collector", "skyserve") in labels
    )


def _recovered(exporter: RunningExporter, timeout: float) -> bool:
    try:
        wait(lambda: exporter.status()["up"], timeout, "recovery")
    except TimeoutError:
        return False
    return True


def row_huge(args: argparse.Namespace, tmp: Path) -> Row:
    row = Row("3", f"a {HUGE_BODY_BYTES / 1e6:.0f} MB answer, body_size_limit {args.body_size_limit}")
    with (
        exporter_on(Fault.HUGE, tmp, interval="30s", body_size_limit=args.body_size_limit) as (_, exporter),
        Scraper(exporter.url, 0.5) as scraper,
    ):
        entry = exporter.first_run(60)
        time.sleep(AFTER_RUN_SECONDS)
        scrapes_ok = scraper.fill(row)
        fill_collector(row, exporter)
    last = entry["last_run"]
    row.notes.append(f"error: {last['error']!r}" if last["error"] else "the run succeeded")
    row.notes.append(f"run took {last['duration_seconds']:.1f}s")
    names_cap = last["error_kind"] == "parse" and "body_size_limit" in (last["error"] or "")
    row.verdict = "PASS" if names_cap and scrapes_ok else "FAIL"
    return row


def row_deep(args: argparse.Namespace, tmp: Path) -> Row:
    row = Row("4", "JSON nested 100,000 deep")
    with (
        exporter_on(Fault.DEEP, tmp, interval="10s") as (_, exporter),
        Scraper(exporter.url, 0.5) as scraper,
    ):
        entry = exporter.first_run(30)
        time.sleep(AFTER_RUN_SECONDS)
        scrapes_ok = scraper.fill(row)
        fill_collector(row, exporter)
        failures = sum(entry["errors"].values())
        log = exporter.log()
    lines = [line for line in log.splitlines() if "collection failed" in line]
    traceback = "Traceback" in log
    row.notes.append(
        f"{len(lines)} log line(s) for {failures} failed run(s); traceback: {'yes' if traceback else 'no'}"
    )
    if lines:
        row.notes.append(f"log: {lines[0][lines[0].find('msg=') :][:200]}")
    # Failures are logged once per episode: one line, however many runs failed.
    ok = entry["last_run"]["error_kind"] == "parse" and len(lines) == 1 and not traceback
    row.verdict = "PASS" if ok and scrapes_ok else "FAIL"
    return row


def row_surrogate(args: argparse.Namespace, tmp: Path) -> Row:
    row = Row("5", 'a service named "lone-\\ud800"')
    with exporter_on(Fault.SURROGATE, tmp) as (sim, exporter), Scraper(exporter.url, 0.5) as scraper:
        others = {service["name"] for service in sim.fleet.services()[1:]}
        entry = exporter.first_run(30)
        time.sleep(AFTER_RUN_SECONDS)
        scrapes_ok = scraper.fill(row)
        fill_collector(row, exporter)
        exported = {
            dict(labels)["service_name"]
            for (name, labels), _ in exporter.samples().items()
            if name == "skyserve_service_status"
        }
    last = entry["last_run"]
    row.notes.append(f"services exported: {len(exported)} of {len(others) + 1} ({len(others)} expected)")
    if last["error"]:
        row.notes.append(f"error: {last['error']!r}")
    ok = last["ok"] and exported == others and LONE_SURROGATE_NAME not in exported and row.skipped != "0"
    row.verdict = "PASS" if ok and scrapes_ok else "FAIL"
    return row


def row_static(args: argparse.Namespace, tmp: Path) -> Row:
    row = Row("6", "GET /static/<file>")
    with exporter_on(Fault.NONE, tmp) as (_, exporter):
        codes = {
            path: requests.get(f"{exporter.url}{path}", timeout=SCRAPE_TIMEOUT).status_code
            for path in STATIC_PATHS
        }
        fill_collector(row, exporter)
    row.notes.append(", ".join(f"{path} {code}" for path, code in codes.items()))
    row.verdict = "PASS" if set(codes.values()) == {404} else "FAIL"
    return row


def row_hangup(args: argparse.Namespace, tmp: Path) -> Row:
    row = Row("7", "kill -HUP (3 times)")
    with exporter_on(Fault.NONE, tmp) as (_, exporter), Scraper(exporter.url, 0.5) as scraper:
        exporter.first_run(30)
        for _ in range(3):
            exporter.proc.send_signal(signal.SIGHUP)
            time.sleep(0.5)
        time.sleep(2)
        alive = exporter.proc.poll() is None
        scrapes_ok = scraper.fill(row)
        fill_collector(row, exporter)
        logged = sum(1 for line in exporter.log().splitlines() if "SIGHUP" in line or "reload" in line)
    row.notes.append(f"alive after: {'yes' if alive else 'no'}; {logged} SIGHUP/reload log line(s)")
    row.verdict = "PASS" if alive and scrapes_ok else "FAIL"
    return row


def row_soak(args: argparse.Namespace, tmp: Path) -> Row:
    row = Row("8", f"{args.soak_minutes:g} min of --demo, every collector every 2s")
    result = soak.soak(args.soak_minutes, "2s", 5.0)
    latencies = [s.scrape_ms for s in result.samples]
    row.scrapes = f"{len(latencies)}/{len(latencies)}"
    row.p50_ms = f"{statistics.median(latencies):.1f}"
    row.max_ms = f"{max(latencies):.1f}"
    row.rss = f"{result.peak_mib:.0f} / {max(s.rss_mib for s in result.samples):.0f}"
    row.notes.append(
        f"growth {result.first_half_mib_per_min:+.3f} then {result.second_half_mib_per_min:+.3f} MiB/min"
    )
    row.verdict = "PASS" if result.second_half_mib_per_min < 0.1 else "FAIL"
    return row


ROWS: dict[str, Callable[[argparse.Namespace, Path], Row]] = {
    "0": row_baseline,
    "1": row_siege,
    "2": row_trickle,
    "3": row_huge,
    "4": row_deep,
    "5": row_surrogate,
    "6": row_static,
    "7": row_hangup,
    "8": row_soak,
}


def run_row(number: str, args: argparse.Namespace) -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            return ROWS[number](args, Path(tmp))
        except Exception as exc:  # one row's breakage must not lose the others' results
            row = Row(number, ROWS[number].__name__, verdict="ERROR")
            row.notes.append(f"{type(exc).__name__}: {exc}"[:300])
            return row


def table(rows: list[Row]) -> str:
    lines = [_line(COLUMNS), "|" + "---|" * len(COLUMNS)]
    lines += [_line(row.cells()) for row in rows]
    return "\n".join(lines)


def _line(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default=ALL_ROWS, help="comma-separated row numbers (8 is the soak)")
    parser.add_argument("--idle", type=int, default=1000, help="row 1: idle connections")
    parser.add_argument("--idle-kind", choices=["keepalive", "silent"], default="keepalive")
    parser.add_argument("--slowloris", type=int, default=100, help="row 1: slowloris connections")
    parser.add_argument("--hold-seconds", type=float, default=IDLE_TIMEOUT + 10, help="row 1")
    parser.add_argument("--trickle-seconds", type=float, default=60.0, help="row 2: how long it trickles")
    parser.add_argument("--trickle-timeout", type=float, default=20.0, help="row 2: the collector's timeout")
    parser.add_argument("--body-size-limit", default="64MiB", help="row 3: the collector's cap")
    parser.add_argument("--soak-minutes", type=float, default=20.0, help="row 8")
    args = parser.parse_args()
    rows = []
    for number in args.rows.split(","):
        print(f"row {number} ...", flush=True)
        rows.append(run_row(number.strip(), args))
        print(_line(rows[-1].cells()), flush=True)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()

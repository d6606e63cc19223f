"""A hostile day against the real exporter process: attacking clients, a hostile upstream, signals.

The rows of the "survive a hostile day" table that finish in seconds; benchmarks/hostile.py runs
them all at full size and benchmarks/soak.py the long one.
"""

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator import Fault, Simulator
from simulator.hostile import LONE_SURROGATE_NAME
from simulator.siege import Kind, Siege
from tests.integration.harness import Exporter, select, wait_for, write_config

pytestmark = pytest.mark.integration

# The exporter's ServerLimits.read_header_timeout: a head must arrive whole this soon after accept.
HEADER_TIMEOUT = 5.0
# Shorter than the 120 s default, so that idle keep-alive connections are reaped within the test.
IDLE_TIMEOUT = 6.0
SCRAPE_BUDGET = 2.0  # seconds; a scrape of this small fleet normally takes milliseconds


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(services=3, replicas_per_service=2, seed=11) as running:
        yield running


def start_exporter(tmp_path: Path, sim: Simulator, *flags: str, **skyserve: str) -> Exporter:
    exporter = Exporter(["--config", str(write_config(tmp_path, sim.url, **skyserve)), *flags], tmp_path)
    wait_for(lambda: healthy(exporter), 30, "the exporter to answer")
    return exporter


def healthy(exporter: Exporter) -> bool:
    if exporter.proc.poll() is not None:
        raise AssertionError(f"exporter exited {exporter.proc.returncode}:\n{exporter.log()}")
    try:
        return requests.get(f"{exporter.url}/-/healthy", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def skyserve_status(exporter: Exporter) -> dict[str, Any]:
    document = requests.get(f"{exporter.url}/api/v1/status", timeout=5).json()
    (entry,) = [c for c in document["collectors"] if c["name"] == "skyserve"]
    return dict(entry)


def first_run(exporter: Exporter, timeout: float = 20) -> dict[str, Any]:
    """The SkyServe collector's status entry once its first run has ended."""

    def ended() -> dict[str, Any] | None:
        entry = skyserve_status(exporter)
        return entry if entry["last_run"] else None

    return wait_for(ended, timeout, "a first run")


def collector_up(exporter: Exporter) -> float:
    return select(exporter.samples(), "skyserve_exporter_collector_up", collector="skyserve")[
        (("collector", "skyserve"),)
    ]


def errors(exporter: Exporter, reason: str) -> float:
    found = select(
        exporter.samples(), "skyserve_exporter_collector_errors_total", collector="skyserve", reason=reason
    )
    return sum(found.values())


def timed_scrape(exporter: Exporter) -> float:
    started = time.monotonic()
    response = requests.get(f"{exporter.url}/metrics", timeout=10)
    assert response.status_code == 200
    return time.monotonic() - started


def vm_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc")


def test_scrapes_answer_while_idle_and_slowloris_connections_are_held(tmp_path: Path, sim: Simulator) -> None:
    exporter = start_exporter(tmp_path, sim, "--web.idle-timeout", f"{IDLE_TIMEOUT:g}s")
    try:
        with Siege("127.0.0.1", exporter.port, silent=500, keepalive=500, slowloris=100) as siege:
            opened = siege.report()
            assert [opened[kind].opened for kind in Kind] == [500, 500, 100]
            held_until = time.monotonic() + HEADER_TIMEOUT - 2
            latencies = []
            while time.monotonic() < held_until:
                latencies.append(timed_scrape(exporter))
                time.sleep(0.2)
            assert siege.report()[Kind.SLOWLORIS].open_now >= 90, "slowloris closed before its header timeout"
            assert len(latencies) >= 5 and max(latencies) < SCRAPE_BUDGET, latencies
            wait_for(siege.all_closed, IDLE_TIMEOUT + 5, "the server to close every held connection")
            report = siege.report()
        # Silent and slowloris ones by the header timeout from accept; kept-alive ones by the idle timeout.
        for kind, limit in (
            (Kind.SILENT, HEADER_TIMEOUT),
            (Kind.SLOWLORIS, HEADER_TIMEOUT),
            (Kind.KEEPALIVE, IDLE_TIMEOUT),
        ):
            closed_after = report[kind].closed_after
            assert min(closed_after) >= limit - 1.5, (kind, report[kind].close_summary())
            assert max(closed_after) < limit + 4, (kind, report[kind].close_summary())
        assert timed_scrape(exporter) < SCRAPE_BUDGET
    finally:
        exporter.stop()


def test_a_trickling_upstream_ends_at_the_deadline_as_timeout(tmp_path: Path, sim: Simulator) -> None:
    exporter = start_exporter(tmp_path, sim, interval="2s", timeout="2s")
    try:
        wait_for(lambda: collector_up(exporter) == 1, 20, "a good first run")
        sim.set_fault(Fault.TRICKLE)
        fault_on = time.monotonic()
        wait_for(lambda: errors(exporter, "timeout") >= 1, 2 + 2 + 3, "a timeout")
        assert time.monotonic() - fault_on < 2 + 2 + 3
        assert collector_up(exporter) == 0
        last_run = skyserve_status(exporter)["last_run"]
        assert last_run["error_kind"] == "timeout"
        assert last_run["duration_seconds"] < 2 + 1.5, "the run must end at its 2 s deadline"
        assert timed_scrape(exporter) < SCRAPE_BUDGET
        sim.set_fault(Fault.NONE)
        wait_for(lambda: collector_up(exporter) == 1, 15, "recovery once the upstream answers again")
    finally:
        exporter.stop()


def test_a_hangup_signal_is_survived(tmp_path: Path, sim: Simulator) -> None:
    exporter = start_exporter(tmp_path, sim)
    try:
        for _ in range(3):
            exporter.proc.send_signal(signal.SIGHUP)
            time.sleep(0.3)
        time.sleep(1)
        assert exporter.proc.poll() is None, exporter.log()
        assert timed_scrape(exporter) < SCRAPE_BUDGET
        log = exporter.log()
        assert "SIGHUP" in log or "reload" in log, log  # it was heard, not just survived
    finally:
        assert exporter.stop() == 0


def test_static_paths_are_not_served(tmp_path: Path, sim: Simulator) -> None:
    exporter = start_exporter(tmp_path, sim)
    try:
        for path in ("/static/x", "/static/landing.html", "/static/../exporter/app.py", "/static/"):
            assert requests.get(f"{exporter.url}{path}", timeout=5).status_code == 404, path
    finally:
        exporter.stop()


def test_deeply_nested_json_is_one_parse_line_without_a_traceback(tmp_path: Path, sim: Simulator) -> None:
    sim.set_fault(Fault.DEEP)
    exporter = start_exporter(tmp_path, sim, interval="5s", timeout="5s")
    try:
        entry = first_run(exporter)
        assert entry["last_run"]["error_kind"] == "parse"
        assert collector_up(exporter) == 0
        wait_for(lambda: errors(exporter, "parse") >= 2, 20, "a second failed run")
        log = exporter.log()
        assert "Traceback" not in log
        failure_lines = [line for line in log.splitlines() if "collection failed" in line]
        assert len(failure_lines) == 1, "one line for the episode, however many runs fail"
        assert "reason=parse" in failure_lines[0], failure_lines
    finally:
        exporter.stop()


def test_a_name_with_a_lone_surrogate_skips_that_record_only(tmp_path: Path, sim: Simulator) -> None:
    others = [service["name"] for service in sim.fleet.services()[1:]]
    sim.set_fault(Fault.SURROGATE)
    exporter = start_exporter(tmp_path, sim)
    try:
        entry = first_run(exporter)
        assert entry["last_run"]["ok"], entry["last_run"]
        samples = exporter.samples()
        assert collector_up(exporter) == 1
        skipped = select(samples, "skyserve_exporter_records_skipped_total", collector="skyserve")
        assert sum(skipped.values()) >= 1, skipped
        exported = {dict(labels)["service_name"] for labels in select(samples, "skyserve_service_status")}
        assert exported == set(others)
        assert LONE_SURROGATE_NAME not in exported
        assert "Traceback" not in exporter.log()
    finally:
        exporter.stop()


def test_a_200_mb_answer_fails_as_parse_naming_the_cap(tmp_path: Path, sim: Simulator) -> None:
    sim.set_fault(Fault.HUGE)
    exporter = start_exporter(tmp_path, sim, interval="10s", timeout="10s", body_size_limit="16MiB")
    try:
        entry = first_run(exporter, timeout=30)
        assert entry["last_run"]["error_kind"] == "parse", entry["last_run"]
        assert "body_size_limit" in entry["last_run"]["error"]
        assert collector_up(exporter) == 0
        # Well under the 200 MB answer: at most the cap's worth of it was ever held.
        assert vm_hwm_mib(exporter.proc.pid) < 200
    finally:
        exporter.stop()

"""The exporter as operators run it: a real process on loopback, the simulator as its upstream."""

import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from simulator import ControllerState, Fault, Simulator
from tests.integration.harness import (
    EXPORTER,
    Exporter,
    parse_samples,
    require_binary,
    select,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.integration

SERVICE_STATUSES = 8
REPLICA_STATUSES = 13


def last_success(exporter: Exporter) -> float:
    found = select(exporter.samples(), "skyserve_exporter_collector_last_success_timestamp_seconds")
    return max(found.values(), default=0.0)


def wait_next_collection(exporter: Exporter) -> None:
    before = last_success(exporter)
    wait_for(lambda: last_success(exporter) > before, 10, "the next collection")


def test_metrics_match_the_simulated_fleet(exporter_on: Exporter, simulator: Simulator) -> None:
    wait_next_collection(exporter_on)
    samples = exporter_on.samples()
    for service in simulator.fleet.services():
        name = service["name"]
        statuses = select(samples, "skyserve_service_status", service_name=name)
        assert len(statuses) >= SERVICE_STATUSES
        assert statuses[(("service_name", name), ("status", service["status"]))] == 1
        assert sum(statuses.values()) == 1
        counts = Counter(replica["status"] for replica in service["replica_info"])
        replicas = select(samples, "skyserve_service_replicas", service_name=name)
        assert len(replicas) >= REPLICA_STATUSES
        assert {dict(k)["status"]: v for k, v in replicas.items() if v} == counts
        for replica in service["replica_info"]:
            rid = str(replica["replica_id"])
            status = select(samples, "skyserve_replica_status", service_name=name, replica_id=rid)
            assert [dict(k)["status"] for k in status] == [replica["status"]]
            (info,) = select(samples, "skyserve_replica_info", service_name=name, replica_id=rid)
            assert dict(info)["cloud"] == replica.get("cloud", "").lower()
            assert dict(info)["spot"] == ("true" if replica["is_spot"] else "false")


def test_yaml_content_secrets_never_reach_metrics(exporter_on: Exporter, simulator: Simulator) -> None:
    yaml_texts = [service.get("yaml_content") or "" for service in simulator.fleet.services()]
    assert any("hf_simulated_secret" in text for text in yaml_texts), "the simulator should carry a secret"
    assert "hf_simulated_secret" not in exporter_on.scrape().text
    assert "hf_simulated_secret" not in requests.get(f"{exporter_on.url}/api/v1/status", timeout=5).text


def test_a_replica_removed_upstream_is_gone_after_the_next_collection(
    exporter_on: Exporter, simulator: Simulator
) -> None:
    service = simulator.fleet.services()[0]
    name, rid = service["name"], service["replica_info"][0]["replica_id"]
    assert select(exporter_on.samples(), "skyserve_replica_status", service_name=name, replica_id=str(rid))
    simulator.fleet.remove_replica(name, rid)
    wait_next_collection(exporter_on)
    samples = exporter_on.samples()
    for family in ("skyserve_replica_status", "skyserve_replica_info"):
        assert not select(samples, family, service_name=name, replica_id=str(rid))


def test_hanging_upstream_does_not_hold_up_scrapes(exporter_on: Exporter, simulator: Simulator) -> None:
    good = exporter_on.samples()
    replicas_before = select(good, "skyserve_replica_status")
    simulator.set_fault(Fault.HANGING)
    wait_for(
        lambda: (
            select(exporter_on.samples(), "skyserve_exporter_collector_up", collector="skyserve")
            == {(("collector", "skyserve"),): 0}
        ),
        15,
        "collector_up to drop to 0",
    )
    for _ in range(5):
        started = time.monotonic()
        samples = parse_samples(requests.get(f"{exporter_on.url}/metrics", timeout=2).text)
        assert time.monotonic() - started < 2
        assert select(samples, "skyserve_replica_status") == replicas_before  # last good data kept
    errors = select(samples, "skyserve_exporter_collector_errors_total", reason="timeout")
    assert sum(errors.values()) >= 1
    # Stopping must not wait for the hung upstream call either.
    started = time.monotonic()
    assert exporter_on.stop() == 0
    assert time.monotonic() - started < 5


def test_upstream_down_at_start_serves_collector_up_zero(tmp_path: Path) -> None:
    exporter = Exporter(["--config", str(write_config(tmp_path, "http://127.0.0.1:9"))], tmp_path)
    try:
        exporter.wait_ready()
        samples = exporter.samples()
        assert select(samples, "skyserve_exporter_collector_up", collector="skyserve") == {
            (("collector", "skyserve"),): 0
        }
        unavailable = select(samples, "skyserve_exporter_collector_errors_total", reason="unavailable")
        assert sum(unavailable.values()) >= 1
    finally:
        assert exporter.stop() == 0


def test_demo_runs_the_same_code_path(tmp_path: Path) -> None:
    exporter = Exporter(["--demo", "--demo.services", "2", "--demo.replicas", "3"], tmp_path)
    try:
        exporter.wait_ready()
        samples = exporter.samples()
        up = select(samples, "skyserve_exporter_collector_up")
        assert {dict(labels)["collector"]: value for labels, value in up.items()} == {
            "pricing": 1,
            "skyserve": 1,
            "kubernetes": 1,
            "baremetal": 1,
            "probes": 1,
        }
        assert len(select(samples, "skyserve_service_info")) == 2
        # The demo runs both controllers: SkyServe's and the jobs controller keeping its pools.
        up = select(samples, "skyserve_controller_status", status="UP")
        assert sorted(dict(labels)["kind"] for labels in up) == ["jobs", "serve"]
        assert list(up.values()) == [1, 1]
        # The demo ships a catalog for every instance type it simulates: all costs are priced.
        assert select(samples, "skyserve_replica_hourly_cost_dollars")
        assert not select(samples, "skyserve_unpriced_replicas")
        assert select(samples, "skyserve_pricing_catalog_rows", cloud="aws")
        for source in ("kubernetes", "baremetal"):
            assert select(samples, "skyserve_replica_status", source=source), source
        # Probes see what the other collectors discovered from their next round on.
        probed = wait_for(lambda: select(exporter.samples(), "skyserve_probe_success"), 30, "probes")
        assert {dict(labels)["kind"] for labels in probed} >= {"service", "replica", "node"}
        page = requests.get(exporter.url, timeout=5)
        assert page.status_code == 200 and "skyserve" in page.text
    finally:
        assert exporter.stop() == 0


def test_promtool_accepts_the_exposition(exporter_on: Exporter) -> None:
    promtool = require_binary("promtool")
    body = exporter_on.scrape().content
    result = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXPORTER), *args], capture_output=True, text=True, timeout=60, check=False)


def test_config_check_exit_codes(tmp_path: Path) -> None:
    good = write_config(tmp_path, "http://127.0.0.1:9")
    assert run_cli("--config", str(good), "--config.check").returncode == 0
    bad = tmp_path / "bad.yml"
    bad.write_text("collectors:\n  skyserve:\n    endpoint: http://x\n    interval: often\n    colour: red\n")
    result = run_cli("--config", str(bad), "--config.check")
    assert result.returncode == 2
    assert "collectors.skyserve.interval" in result.stderr
    assert "collectors.skyserve.colour: unknown key" in result.stderr


def test_once_prints_the_exposition_and_reports_failure(tmp_path: Path, simulator: Simulator) -> None:
    result = run_cli("--config", str(write_config(tmp_path, simulator.url)), "--once")
    assert result.returncode == 0, result.stderr
    assert select(parse_samples(result.stdout), "skyserve_service_info")
    result = run_cli("--config", str(write_config(tmp_path, "http://127.0.0.1:9")), "--once")
    assert result.returncode == 1


def test_once_against_a_server_without_internet_reads_as_sky_serve_status(tmp_path: Path) -> None:
    """The issue's symptom: ``--once`` exited 1 (reason ``other``) where ``sky serve status`` said
    "No live services."; with a live controller the failure is ``unavailable`` with the server's words."""
    with Simulator(services=2, replicas_per_service=1, controller=ControllerState.STOPPED) as sim:
        sim.set_fault(Fault.OFFLINE)
        config = str(write_config(tmp_path, sim.url))
        result = run_cli("--config", config, "--once")
        assert result.returncode == 0, result.stderr
        samples = parse_samples(result.stdout)
        assert not select(samples, "skyserve_service_info")
        assert select(samples, "skyserve_controller_status", status="STOPPED") == {
            (("controller", "sky-serve-controller-7f3e9a1c"), ("kind", "serve"), ("status", "STOPPED")): 1
        }
        sim.set_controller(ControllerState.UP)
        result = run_cli("--config", config, "--once")
        assert result.returncode == 1
        assert "reason=unavailable" in result.stderr
        assert "due to network error" in result.stderr

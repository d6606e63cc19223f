"""Automatic sharding in the real exporter process: the shard read from a (fake, loopback, TLS)
Kubernetes API at start, and the StatefulSet scaled while it runs resharding it at SIGHUP, the
collectors taking their new share without a restart.

The process runs the exporter's own ``main()`` through a three-line launcher that points the
service-account directory (a fixed path in a pod) at the test's.
"""

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.sharding import Shard
from simulator import Simulator
from tests.integration.harness import Exporter, Process, free_port, select, wait_for, write_config
from tests.unit.framework.kube_api import NAMESPACE, TOKEN, FakeApi, fake_api

pytestmark = pytest.mark.integration

LAUNCHER = (
    "import sys, pathlib, exporter.autoshard, exporter.cli\n"
    "exporter.autoshard.SERVICE_ACCOUNT_DIR = pathlib.Path(sys.argv.pop(1))\n"
    "exporter.cli.main()\n"
)


class PodExporter(Exporter):
    """The exporter as a StatefulSet's pod runs it (--pod, --pod-namespace), its service account
    the fake API's."""

    def __init__(self, api: FakeApi, config: Path, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [
            sys.executable,
            "-c",
            LAUNCHER,
            str(api.account_dir),
            "--web.listen-address",
            f"127.0.0.1:{self.port}",
            "--config",
            str(config),
            "--pod",
            api.state.pod,
            "--pod-namespace",
            NAMESPACE,
        ]
        Process.__init__(self, argv, tmp_path / f"exporter-{self.port}.log", env=None)


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    with fake_api(tmp_path) as found:
        for name, value in found.environ.items():
            monkeypatch.setenv(name, value)  # the child inherits them, as a pod has them
        yield found


def served_services(exporter: Exporter) -> set[str]:
    return {dict(labels)["service_name"] for labels in select(exporter.samples(), "skyserve_service_info")}


def shard_info(exporter: Exporter) -> set[tuple[str, str]]:
    found = select(exporter.samples(), "skyserve_exporter_shard_info")
    return {(dict(labels)["shard"], dict(labels)["total_shards"]) for labels in found}


def test_scaling_the_statefulset_reshards_the_running_exporter_at_sighup(
    api: FakeApi, tmp_path: Path
) -> None:
    with Simulator(services=12, replicas_per_service=1, seed=3) as simulator:
        names = {service["name"] for service in simulator.fleet.services()}
        exporter = PodExporter(api, write_config(tmp_path, simulator.url), tmp_path)
        try:
            exporter.wait_ready()
            assert shard_info(exporter) == {("1", "3")}
            assert served_services(exporter) == {name for name in names if Shard(1, 3).owns(name)}
            api.state.replicas = 4
            exporter.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: shard_info(exporter) == {("1", "4")}, 30, "the new shard to be served")
            expected = {name for name in names if Shard(1, 4).owns(name)}
            assert expected != {name for name in names if Shard(1, 3).owns(name)}  # the control
            wait_for(lambda: served_services(exporter) == expected, 30, "the collector to take its new share")
        finally:
            assert exporter.stop() == 0
        log = exporter.log_path.read_text(errors="replace")
        assert log.count("resharded") == 1
        assert TOKEN not in log


def test_an_api_that_refuses_stops_the_start_with_a_clear_error(api: FakeApi, tmp_path: Path) -> None:
    api.state.status = 403
    exporter = PodExporter(api, write_config(tmp_path, "http://127.0.0.1:9"), tmp_path)
    code = exporter.proc.wait(60)
    exporter.stop()
    assert code == 2
    log = exporter.log_path.read_text(errors="replace")
    assert (
        "sharding error: the Kubernetes API refused to get pod monitoring/skyserve-exporter-1 (HTTP 403)"
        in log
    )
    assert TOKEN not in log

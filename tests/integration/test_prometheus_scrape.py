"""A real Prometheus (Debian's package) scraping the exporter on loopback."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import Exporter, Process, free_port, prometheus_query, require_binary, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def demo_exporter(tmp_path: Path) -> Iterator[Exporter]:
    exporter = Exporter(["--demo", "--demo.services", "3", "--demo.replicas", "4"], tmp_path)
    try:
        exporter.wait_ready()
        yield exporter
    finally:
        exporter.stop()


def start_prometheus(tmp_path: Path, target_port: int) -> tuple[Process, str]:
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: skyserve\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n"
    )
    argv = [
        require_binary("prometheus"),
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return Process(argv, tmp_path / "prometheus.log"), f"http://127.0.0.1:{port}"


def test_prometheus_scrapes_and_stores_the_fleet(demo_exporter: Exporter, tmp_path: Path) -> None:
    prometheus, url = start_prometheus(tmp_path, demo_exporter.port)
    try:

        def ingested() -> list[dict[str, Any]]:
            try:
                return prometheus_query(url, "sum by (service_name) (skyserve_service_replicas)")
            except Exception:
                return []

        per_service = wait_for(ingested, 60, "Prometheus to ingest skyserve_service_replicas", step=0.5)
        assert len(per_service) == 3
        (up,) = prometheus_query(url, 'up{job="skyserve"}')
        assert up["value"][1] == "1"
        # Exported label names survive as-is: no exported_* renames of service/instance/job.
        labels = prometheus_query(url, "skyserve_replica_info")[0]["metric"]
        assert "service_name" in labels and "exported_instance" not in labels and "exported_job" not in labels
        health = prometheus_query(url, 'scrape_samples_scraped{job="skyserve"}')
        assert float(health[0]["value"][1]) > 50
    finally:
        prometheus.stop()

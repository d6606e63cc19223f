from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator import Simulator
from tests.integration.harness import Exporter, write_config


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(services=3, replicas_per_service=4, seed=7) as sim:
        yield sim


@pytest.fixture
def exporter_on(tmp_path: Path, simulator: Simulator) -> Iterator[Exporter]:
    exporter = Exporter(["--config", str(write_config(tmp_path, simulator.url))], tmp_path)
    try:
        exporter.wait_ready()
        yield exporter
    finally:
        exporter.stop()

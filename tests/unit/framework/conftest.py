from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.framework.config_check import offline_environment, root_logger_restored
from tests.unit.framework.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def offline_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An empty home directory, and an environment with nothing of SkyPilot or Kubernetes in it."""
    home = tmp_path / "empty-home"
    home.mkdir()
    offline_environment(monkeypatch, home)
    with root_logger_restored():
        yield home

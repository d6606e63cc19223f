"""Running the real ``--config.check`` on a machine that has nothing to offer it (the
``offline_machine`` fixture): no SkyPilot or Kubernetes variable in the environment and HOME an
empty directory, so no file of this machine (a real ~/.sky, ~/.kube) can make a check pass."""

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from exporter.cli import EXIT_CONFIG, run

__all__ = ["EXIT_CONFIG", "CheckResult", "config_check", "offline_environment", "root_logger_restored"]


@dataclass(frozen=True)
class CheckResult:
    code: int
    stdout: str
    problems: list[str]  # the lines under "config error:", as printed


def offline_environment(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """No SkyPilot or Kubernetes variable left, and HOME at ``home``."""
    for name in list(os.environ):
        if name.startswith(("SKYPILOT_", "KUBERNETES_")) or name == "KUBECONFIG":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))


@contextmanager
def root_logger_restored() -> Iterator[None]:
    """``run`` replaces the root logger's handlers with one writing to the (captured) stderr,
    which is closed after the test: later tests must not log into it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def config_check(capsys: pytest.CaptureFixture[str], config: Path) -> CheckResult:
    code = run(["--config", str(config), "--config.check"])
    out, err = capsys.readouterr()
    _, marker, listed = err.partition("config error:\n")
    problems = [line.removeprefix("  ") for line in listed.splitlines()] if marker else []
    return CheckResult(code, out, problems)

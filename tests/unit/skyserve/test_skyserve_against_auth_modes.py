"""The SkyServe collector against the simulated API server in each of the real server's auth modes.

Only the collector's public entry points are used (``SkyServeCollector.from_config`` and
``exporter.runner.run_once``), so this holds whatever shape the package's modules take.
"""

import logging
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from collectors.skyserve.collector import SkyServeCollector
from exporter.collector import CollectorContext
from exporter.errors import ErrorKind
from exporter.runner import run_once
from exporter.snapshot import Snapshot
from simulator import Simulator

# A real service-account token's shape: the "sky_" prefix is what makes the server check it.
TOKEN = "sky_3fa9c1d2e7b84b0c9d6e5f4a3b2c1d0e"
USER, PASSWORD = "exporter", "s3cret-pass"
IDLE = 0.5  # seconds the simulator keeps an idle connection open
LOGGER = logging.getLogger("tests.skyserve.auth_modes")


def _run(section: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Snapshot:
    return _run_twice(section, environ, pause=None)[0]


def _run_twice(
    section: Mapping[str, Any], environ: Mapping[str, str] | None, pause: float | None
) -> list[Snapshot]:
    """One run, or two runs ``pause`` seconds apart, of one collector (so one pooled session)."""
    context = CollectorContext(requests.Session, time.time, LOGGER, dict(environ or {}))
    collector = SkyServeCollector.from_config(dict(section), context)
    runs = [run_once(collector, time.time, LOGGER)]
    if pause is not None:
        time.sleep(pause)
        runs.append(run_once(collector, time.time, LOGGER))
    return runs


@pytest.fixture(scope="module")
def open_sim() -> Iterator[Simulator]:
    """Started without a token, as ``sky api start`` runs by default: service accounts are off."""
    with Simulator(services=2, replicas_per_service=2) as running:
        yield running


@pytest.fixture(scope="module")
def basic_sim() -> Iterator[Simulator]:
    with Simulator(services=2, replicas_per_service=2, basic_auth=(USER, PASSWORD)) as running:
        yield running


def _with_credentials(url: str, user: str, password: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{user}:{password}@{rest}"


def test_no_token_against_a_server_without_one(open_sim: Simulator) -> None:
    snapshot = _run({"endpoint": open_sim.url})
    assert snapshot.ok, snapshot.error


@pytest.mark.parametrize("source", ["token_file", "environment"])
def test_a_token_against_a_server_without_service_accounts_fails_as_auth(
    open_sim: Simulator, tmp_path: Path, source: str
) -> None:
    """The server answers 401 ``{"detail": "Service account authentication disabled"}``, and that
    reason is what the error (and so the status page) says, without the token."""
    section: dict[str, Any] = {"endpoint": open_sim.url}
    environ: dict[str, str] = {}
    if source == "token_file":
        token_file = tmp_path / "token"
        token_file.write_text(TOKEN + "\n", encoding="utf-8")
        section["token_file"] = str(token_file)
    else:
        environ["SKYPILOT_SERVICE_ACCOUNT_TOKEN"] = TOKEN
    snapshot = _run(section, environ)
    assert not snapshot.ok
    assert snapshot.error_kind == ErrorKind.AUTH
    assert snapshot.error == (
        f"health check: {open_sim.url} refused our credentials (HTTP 401): "
        "Service account authentication disabled"
    )
    assert TOKEN not in snapshot.error
    assert TOKEN[len("sky_") :] not in snapshot.error


def test_basic_auth_in_the_endpoint_url(basic_sim: Simulator) -> None:
    snapshot = _run({"endpoint": _with_credentials(basic_sim.url, USER, PASSWORD)})
    assert snapshot.ok, snapshot.error


def test_basic_auth_with_a_wrong_password_fails_as_auth(basic_sim: Simulator) -> None:
    """The basic-auth refusal's body is a bare JSON string, not ``{"detail": ...}``: read it too."""
    snapshot = _run({"endpoint": _with_credentials(basic_sim.url, USER, "wrong-pass")})
    assert not snapshot.ok
    assert snapshot.error_kind == ErrorKind.AUTH
    assert snapshot.error is not None
    assert snapshot.error.endswith("refused our credentials (HTTP 401): Invalid credentials")
    assert "wrong-pass" not in snapshot.error


def test_basic_auth_without_credentials_fails_as_auth(basic_sim: Simulator) -> None:
    snapshot = _run({"endpoint": basic_sim.url})
    assert not snapshot.ok
    assert snapshot.error_kind == ErrorKind.AUTH
    assert snapshot.error is not None
    assert snapshot.error.endswith("refused our credentials (HTTP 401): Authentication required")


def test_runs_survive_the_server_dropping_an_idle_pooled_connection() -> None:
    with Simulator(services=2, replicas_per_service=2, keep_alive_timeout=IDLE) as sim:
        first, second = _run_twice({"endpoint": sim.url}, None, pause=IDLE + 0.5)
        counts = sim.api_connections
    assert first.ok, first.error
    assert second.ok, second.error
    # The first run's pooled connection was dropped while idle, so the second opened another.
    assert counts.idled_out >= 1
    assert counts.opened >= 2

"""The exporter against the real SkyPilot API server, not the simulator.

``skypilot==0.14.1`` (a test dependency) brings the real FastAPI/uvicorn server; ``sky api start`` runs
it on a free loopback port with ``HOME`` in a temporary directory, offline and without cloud
credentials (tests/integration/real_sky.py). The exporter runs as a real process with a 2 s interval
and timeout.

The tests share one server, started with ``--enable-basic-auth`` (basic auth only applies to clients
behind a proxy) and started again if a test left it down; the restart test runs last of them. The
zero-service test has its own, with the server's internet check patched, started after the shared one
is down: on a 2-core machine, one server at a time.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.harness import Exporter, Samples, select, wait_for, write_config
from tests.integration.real_sky import ForwardingProxy, RealSkyServer, real_sky_server

pytestmark = pytest.mark.integration

INTERVAL = "2s"
WAIT = 30.0  # seconds: a bound on every wait for the exporter, well over ten collections
RESTART_INTERVAL = "5s"
RECOVERY_WAIT = 60.0  # seconds: after the restart, for the first collection to succeed
AIR_GAPPED_ERROR = "Failed to refresh services status due to network error."
NO_LIVE_SERVICES = "No live services."
USER = "alice"
PASSWORD = "pw-realsky-Xy7q2-s3cret"
WRONG_PASSWORD = "pw-realsky-Qz9w4-guess"
TOKEN = "sky_realsky-test-token-Jm3k8"


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealSkyServer]:
    home = tmp_path_factory.mktemp("sky-shared")
    with real_sky_server(home, basic_auth=(USER, PASSWORD)) as server:
        yield server


@pytest.fixture
def air_gapped(shared_server: RealSkyServer) -> RealSkyServer:
    """The real server as it is: offline, it fails ``serve status`` on its own internet check.

    One per module, started again if the restart test left it down. It runs with
    ``--enable-basic-auth`` for the basic-auth tests, which reach it through a proxy; to a direct
    loopback client, which the exporter is in the other tests, its basic auth does not exist (the
    middleware passes such requests on untouched: sky/server/server.py, ``BasicAuthMiddleware``).
    """
    shared_server.ensure_running()
    return shared_server


@contextmanager
def exporter_on(
    tmp_path: Path, endpoint: str, env: dict[str, str] | None = None, interval: str = INTERVAL
) -> Iterator[Exporter]:
    config_dir = tmp_path / f"config-{len(list(tmp_path.glob('config-*')))}"
    config_dir.mkdir()
    config = write_config(config_dir, endpoint, interval=interval, timeout=interval)
    exporter = Exporter(["--config", str(config)], tmp_path, env)
    try:
        exporter.wait_ready(WAIT)
        yield exporter
    finally:
        exporter.stop()


def skyserve_entry(exporter: Exporter) -> dict[str, Any]:
    document = requests.get(f"{exporter.url}/api/v1/status", timeout=5).json()
    (entry,) = [c for c in document["collectors"] if c["name"] == "skyserve"]
    return dict(entry)


def status_services(exporter: Exporter) -> list[Any]:
    return list(requests.get(f"{exporter.url}/api/v1/status", timeout=5).json()["services"])


def collector_up(samples: Samples) -> float | None:
    return select(samples, "skyserve_exporter_collector_up", collector="skyserve").get(
        (("collector", "skyserve"),)
    )


def errors(samples: Samples, reason: str) -> float:
    found = select(samples, "skyserve_exporter_collector_errors_total", collector="skyserve", reason=reason)
    return sum(found.values())


def all_errors(samples: Samples) -> dict[str, float]:
    found = select(samples, "skyserve_exporter_collector_errors_total", collector="skyserve")
    return {dict(labels)["reason"]: value for labels, value in found.items() if value}


def wait_up(exporter: Exporter, up: float, timeout: float = WAIT) -> Samples:
    def reached() -> Samples | None:
        samples = exporter.samples()
        return samples if collector_up(samples) == up else None

    try:
        return wait_for(reached, timeout, f"skyserve_exporter_collector_up == {up}", step=0.25)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; status: {skyserve_entry(exporter)}") from None


def assert_zero_services(exporter: Exporter) -> None:
    """Up, no service or controller series, no errors, nothing skipped: what ``sky serve status`` shows
    as "No live services."."""
    samples = wait_up(exporter, 1)
    assert not select(samples, "skyserve_service_status")
    assert not select(samples, "skyserve_replica_status")
    assert all_errors(samples) == {}
    # The exporter asked the server for the controller cluster, and the server has none.
    assert not select(samples, "skyserve_controller_status")
    skipped = select(samples, "skyserve_exporter_records_skipped_total", collector="skyserve")
    assert {dict(labels)["reason"]: value for labels, value in skipped.items() if value} == {}
    entry = skyserve_entry(exporter)
    assert entry["up"] is True
    assert entry["last_run"]["ok"] is True, entry
    assert entry["last_run"]["error"] is None, entry
    assert status_services(exporter) == []
    (info,) = select(samples, "skyserve_exporter_upstream_info", collector="skyserve")
    assert dict(info)["version"] == "0.14.1"


def texts_seen(exporter: Exporter) -> str:
    """/metrics, /api/v1/status and the landing page of a running exporter."""
    metrics = exporter.scrape().text
    status = requests.get(f"{exporter.url}/api/v1/status", timeout=5).text
    landing = requests.get(f"{exporter.url}/", timeout=5).text
    return "\n".join((metrics, status, landing))


def full_log(exporter: Exporter) -> str:
    """The exporter's log, once it has stopped."""
    return exporter.log_path.read_text(errors="replace")


def test_air_gapped_server_has_zero_services(air_gapped: RealSkyServer, tmp_path: Path) -> None:
    """Offline, the real server fails ``serve status`` on its own internet check; with no SkyServe
    controller cluster, the exporter reports zero services, as ``sky serve status`` does."""
    with exporter_on(tmp_path, air_gapped.url) as exporter:
        assert_zero_services(exporter)
    # The server's own word that it took the air-gapped path (the fixture's warm-up ran it too).
    log = air_gapped.log()
    if AIR_GAPPED_ERROR not in log and NO_LIVE_SERVICES in log:
        pytest.skip("this machine reached the internet: the server did not take the air-gapped path")
    assert AIR_GAPPED_ERROR in log
    # ...and that the exporter then asked it for the serve controller's cluster (the warm-up does not).
    assert '"POST /status HTTP/1.1" 200' in log


def test_bearer_token_to_a_server_without_service_accounts(air_gapped: RealSkyServer, tmp_path: Path) -> None:
    env = {"SKYPILOT_SERVICE_ACCOUNT_TOKEN": TOKEN}
    with exporter_on(tmp_path, air_gapped.url, env) as exporter:
        samples = wait_up(exporter, 0)
        wait_for(lambda: errors(exporter.samples(), "auth") >= 1, WAIT, "an auth error")
        assert set(all_errors(exporter.samples())) == {"auth"}
        assert not select(samples, "skyserve_service_status")
        last_run = skyserve_entry(exporter)["last_run"]
        assert last_run["error_kind"] == "auth", last_run
        assert "Service account authentication disabled" in last_run["error"], last_run
        seen = texts_seen(exporter)
    assert TOKEN not in seen
    assert TOKEN not in full_log(exporter)


def test_basic_auth_with_the_right_password(air_gapped: RealSkyServer, tmp_path: Path) -> None:
    """The real server skips basic auth for loopback clients without proxy headers, so the exporter
    reaches it through a loopback proxy that adds ``X-Forwarded-For``, as an ingress would."""
    with (
        ForwardingProxy(air_gapped.port) as proxy,
        exporter_on(tmp_path, proxy.url(f"{USER}:{PASSWORD}")) as exporter,
    ):
        assert_zero_services(exporter)
        assert set(proxy.auth_schemes) == {"Basic"}
        seen = texts_seen(exporter)
    for text in (seen, full_log(exporter)):
        assert PASSWORD not in text
        assert "$2b$" not in text  # /api/health returns the user's password hash to an authenticated client


def test_basic_auth_with_a_wrong_password(air_gapped: RealSkyServer, tmp_path: Path) -> None:
    with (
        ForwardingProxy(air_gapped.port) as proxy,
        exporter_on(tmp_path, proxy.url(f"{USER}:{WRONG_PASSWORD}")) as exporter,
    ):
        wait_up(exporter, 0)
        wait_for(lambda: errors(exporter.samples(), "auth") >= 1, WAIT, "an auth error")
        assert set(all_errors(exporter.samples())) == {"auth"}
        last_run = skyserve_entry(exporter)["last_run"]
        assert last_run["error_kind"] == "auth", last_run
        assert proxy.url() in last_run["error"], last_run  # the server, named without its userinfo
        assert set(proxy.auth_schemes) == {"Basic"}
        seen = texts_seen(exporter)
    for text in (seen, full_log(exporter)):
        assert WRONG_PASSWORD not in text


def test_stop_and_restart_of_the_server(air_gapped: RealSkyServer, tmp_path: Path) -> None:
    """``sky api stop``: down as ``unavailable``; ``sky api start`` on the same port and ``HOME``: up
    again. Then the server killed by PID (SIGKILL to its process group): down as ``unavailable`` again.
    The last test of the shared server: it leaves it down (the fixture starts it again if needed).

    A freshly started server takes 10-30 s over its first requests (its workers import SkyPilot), and
    ``serve status`` requests the exporter gave up on stay queued on the server (the exporter does not
    cancel them): at a 2 s interval they pile up faster than the cold server drains them, so this test
    polls every 5 s."""
    server = air_gapped
    with exporter_on(tmp_path, server.url, interval=RESTART_INTERVAL) as exporter:
        wait_up(exporter, 1)
        before = errors(exporter.samples(), "unavailable")

        server.stop()
        samples = wait_up(exporter, 0)
        wait_for(lambda: errors(exporter.samples(), "unavailable") > before, WAIT, "unavailable")
        last_run = skyserve_entry(exporter)["last_run"]
        assert last_run["error_kind"] == "unavailable", last_run
        assert f"cannot reach {server.url}" in last_run["error"], last_run
        assert not select(samples, "skyserve_service_status")

        server.start()
        wait_up(exporter, 1, RECOVERY_WAIT)
        after_restart = errors(exporter.samples(), "unavailable")

        server.kill()
        wait_up(exporter, 0)
        wait_for(lambda: errors(exporter.samples(), "unavailable") > after_restart, WAIT, "unavailable")
        assert skyserve_entry(exporter)["last_run"]["error_kind"] == "unavailable"


def test_zero_services_with_the_internet_check_patched(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """The same answer from the path an online server takes: here, and for this test only, the real
    server's ``sky.backends.backend_utils.check_network_connection`` is made a no-op by a
    ``sitecustomize.py`` on its PYTHONPATH (real_sky.NO_NETWORK_CHECK_SITECUSTOMIZE), so ``serve status``
    goes on to find no controller and fails with ``ClusterNotUpError: No live services.``."""
    home = tmp_path_factory.mktemp("sky-zero-services")
    with (
        real_sky_server(home, no_network_check=True) as server,
        exporter_on(tmp_path, server.url) as exporter,
    ):
        assert_zero_services(exporter)
        assert NO_LIVE_SERVICES in server.log()
        assert AIR_GAPPED_ERROR not in server.log()

"""Auth, version headers and keep-alive as SkyPilot 0.14.1's own SDK meets them.

test_sim_auth_modes.py, test_sim_version_headers.py and test_sim_keepalive.py check the simulator's
answers with raw HTTP. Here the official client makes the requests its own way (the service-account
header from its environment or config, credentials from the endpoint URL, its version headers, its
pooled ``requests.Session`` in sky/server/rest.py) and reads the answers its own way: what it
raises is what it would raise against a real server that answered the same.

Every SDK call runs in a fresh ``contextvars.Context``, as in a new client process: the SDK keeps
the server's version in context variables (sky/server/versions.py), and those must neither leak into
other tests nor come in from them.
"""

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import requests
from sky import exceptions, skypilot_config
from sky.client import sdk, service_account_auth
from sky.serve.client import sdk as serve_sdk
from sky.server import common as server_common
from sky.server import constants as server_constants
from sky.server import rest, versions
from sky.skylet import constants as sky_constants
from sky.usage import usage_lib
from sky.utils import config_utils

from simulator import Simulator
from tests.unit.sky_client import pointed_at

T = TypeVar("T")

TOKEN = "sky_simulated.service.account"
USER, PASSWORD = "user", "pass"
SA_DISABLED = {"detail": "Service account authentication disabled"}
BASIC_REALM = 'Basic realm="SkyPilot"'
# The simulator's 400 for a client below API version 24 (sky.server.versions.CLIENT_TOO_OLD_ERROR).
TOO_OLD = (
    "\x1b[33mYour SkyPilot client version is too old:0.10.0\n\x1b[0m"
    "The server is running on 0.14.1 and the minimum compatible version is 0.11.0.\n"
    'Upgrade your client with:\n\x1b[33mpip install -U "skypilot==0.14.1"\x1b[0m'
)


def fresh(call: Callable[..., T], *args: Any) -> T:
    """``call(*args)`` with every context variable at its default, as in a new process."""
    return contextvars.Context().run(call, *args)


@pytest.fixture(autouse=True)
def sdk_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The SDK's process-wide state these tests change, put back afterwards."""
    # /api/health answers are cached per endpoint for 5 s: another test's answer must not be reused.
    server_common.get_api_server_status_response.cache_clear()
    # A health answer saying basic auth is on sets these, and from then on every request body
    # carries the client's user hash.
    monkeypatch.setattr(server_common, "basic_auth_enabled", server_common.basic_auth_enabled)
    monkeypatch.setattr(server_common, "client_user_hash", server_common.client_user_hash)
    usage = usage_lib.messages.usage
    monkeypatch.setattr(usage, "client_user_hash", usage.client_user_hash)
    monkeypatch.delenv(sky_constants.SERVICE_ACCOUNT_TOKEN_ENV_VAR, raising=False)
    yield
    server_common.get_api_server_status_response.cache_clear()


@pytest.fixture(scope="module")
def open_sim() -> Iterator[Simulator]:
    """Started without a token: service accounts off, no basic auth."""
    with Simulator(services=2, replicas_per_service=1, seed=7) as running:
        yield running


@pytest.fixture(scope="module")
def basic_sim() -> Iterator[Simulator]:
    with Simulator(services=1, replicas_per_service=1, basic_auth=(USER, PASSWORD)) as running:
        yield running


def _with_userinfo(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))


def _names(sim: Simulator) -> list[str]:
    return [s["name"] for s in sim.fleet.services()]


def _serve_status() -> list[str]:
    return [s["name"] for s in sdk.get(serve_sdk.status(None))]


def _http_error(call: Callable[[], object]) -> requests.Response:
    """The response of the HTTPError the SDK raises from ``call``."""
    with pytest.raises(requests.HTTPError) as raised:
        fresh(call)
    response = raised.value.response
    assert response is not None
    return response


# --- 1. a service-account token, service accounts off ------------------------------------------


@pytest.mark.parametrize("source", ["env", "config"])
def test_a_service_account_token_is_refused_by_a_server_without_service_accounts(
    open_sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """The SDK takes the token from SKYPILOT_SERVICE_ACCOUNT_TOKEN or, failing that, from the
    config's ``api_server.service_account_token`` (sky/client/service_account_auth.py) and sends it
    as ``Bearer`` on every request; the real server's ``BearerTokenMiddleware`` refuses it, even on
    /api/health, with 401 ``{"detail": "Service account authentication disabled"}``."""
    with pointed_at(open_sim.url, tmp_path):
        # Without the token the same SDK gets through: the refusals below are the token's.
        assert fresh(_serve_status) == _names(open_sim)
        server_common.get_api_server_status_response.cache_clear()
        given: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if source == "env":
            monkeypatch.setenv(sky_constants.SERVICE_ACCOUNT_TOKEN_ENV_VAR, TOKEN)
        else:
            # As loaded from ~/.sky/config.yaml; put back on the way out.
            loaded = config_utils.Config({"api_server": {"service_account_token": TOKEN}})
            given = skypilot_config.replace_skypilot_config_in_process(loaded)
        with given:
            assert service_account_auth.get_service_account_headers() == {"Authorization": f"Bearer {TOKEN}"}
            # ``sky api info``: the SDK raises the 401 as an HTTPError carrying the server's detail.
            refused = _http_error(sdk.api_info)
            assert refused.status_code == 401
            assert refused.json() == SA_DISABLED
            assert "WWW-Authenticate" not in refused.headers
            # Any other call first checks /api/health; a 401 there is the SDK's "log in" error.
            with pytest.raises(exceptions.ApiServerAuthenticationError, match=open_sim.url):
                fresh(serve_sdk.status, None)


def test_the_same_sdk_gets_through_when_the_server_takes_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sky_constants.SERVICE_ACCOUNT_TOKEN_ENV_VAR, TOKEN)
    with (
        Simulator(services=1, replicas_per_service=1, token=TOKEN) as sim,
        pointed_at(sim.url, tmp_path),
    ):
        info = fresh(sdk.api_info)
        assert info.user is not None and info.user.id.startswith("sa-")
        assert info.service_account_token_enabled is True
        assert fresh(_serve_status) == _names(sim)


# --- 2. basic auth, credentials in the endpoint URL ---------------------------------------------
# The real server lets a direct loopback caller through without basic auth
# (``loopback.is_loopback_request`` in ``BasicAuthMiddleware``); the simulator, though on loopback,
# stands in for a server reached over the network and asks every caller, as the real one asks a
# caller that comes through an ingress.


def test_basic_auth_credentials_in_the_endpoint_url_get_through(basic_sim: Simulator, tmp_path: Path) -> None:
    """``http://user:pass@host:port``: requests turns the URL's userinfo into ``Authorization: Basic``
    on every SDK request (the SDK passes no ``auth`` of its own)."""
    with pointed_at(_with_userinfo(basic_sim.url, USER, PASSWORD), tmp_path):
        info = fresh(sdk.api_info)
        assert info.user is not None and info.user.name == USER
        assert info.basic_auth_enabled is True
        assert fresh(_serve_status) == _names(basic_sim)


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        (None, "Authentication required"),
        ((USER, "wrong"), "Invalid credentials"),
        (("mallory", PASSWORD), "Invalid credentials"),
    ],
)
def test_basic_auth_refusals_reach_the_sdk_as_the_servers_401(
    basic_sim: Simulator, tmp_path: Path, credentials: tuple[str, str] | None, message: str
) -> None:
    url = basic_sim.url if credentials is None else _with_userinfo(basic_sim.url, *credentials)
    with pointed_at(url, tmp_path):
        # /api/health is exempt: the health check passes anonymously and the SDK goes on to POST
        # /serve/status, whose 401 it raises as an HTTPError (sky/server/common.py
        # ``handle_request_error``).
        info = fresh(sdk.api_info)
        assert (info.status, info.user) == (server_common.ApiServerStatus.HEALTHY, None)
        refused = _http_error(lambda: serve_sdk.status(None))
        assert refused.status_code == 401
        assert refused.json() == message  # a bare JSON string, not {"detail": ...}
        assert refused.headers["WWW-Authenticate"] == BASIC_REALM


# --- 3. version headers -------------------------------------------------------------------------


def test_the_sdk_learns_the_servers_version_from_its_answers(open_sim: Simulator, tmp_path: Path) -> None:
    """The SDK's session sends both version headers, and only then does the server answer with its
    own; the SDK checks those (``check_compatibility_at_client``: a 200 health answer without them
    is a server too old) and keeps them as the remote version."""
    assert rest._session.headers[server_constants.API_VERSION_HEADER] == "62"
    assert rest._session.headers[server_constants.VERSION_HEADER] == "0.14.1"

    def first_contact() -> tuple[Any, Any, int | None, str]:
        before = (versions.get_remote_api_version(), versions.get_remote_version())
        assert before == (None, "unknown")
        status, info = server_common.check_server_healthy()
        return status, info, versions.get_remote_api_version(), versions.get_remote_version()

    with pointed_at(open_sim.url, tmp_path):
        status, info, api_version, version = fresh(first_contact)
        assert status == server_common.ApiServerStatus.HEALTHY
        assert (info.api_version, info.version, info.error) == ("62", "0.14.1", None)
        assert (api_version, version) == (62, "0.14.1")
        # Any SDK call does the same from its own answers' headers (rest.request_without_retry).
        server_common.get_api_server_status_response.cache_clear()
        remote = fresh(lambda: (_serve_status(), versions.get_remote_api_version()))
        assert remote == (_names(open_sim), 62)


def test_a_too_old_client_gets_the_sdks_version_mismatch_error(
    open_sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client below API version 24, simulated by the SDK's session headers: the server answers 400
    ``version_mismatch``, which the SDK's health check raises as APIVersionMismatchError with the
    server's message (the endpoint is not a local server's, so the message is not replaced)."""
    headers = rest._session.headers
    monkeypatch.setitem(headers, server_constants.API_VERSION_HEADER, "23")
    monkeypatch.setitem(headers, server_constants.VERSION_HEADER, "0.10.0")
    with pointed_at(open_sim.url, tmp_path):
        with pytest.raises(exceptions.APIVersionMismatchError) as raised:
            fresh(serve_sdk.status, None)
        assert str(raised.value) == TOO_OLD
        refused = _http_error(sdk.api_info)
        assert refused.status_code == 400
        assert refused.json() == {"error": "version_mismatch", "message": TOO_OLD}
        assert refused.headers[server_constants.API_VERSION_HEADER] == "62"


# --- 4. keep-alive ------------------------------------------------------------------------------


def test_the_sdks_pooled_connection_dropped_while_idle_is_replaced(tmp_path: Path) -> None:
    """The SDK sends everything through one module-level ``requests.Session`` (sky/server/rest.py), so
    a connection idles in its pool between calls; the server closes it after its keep-alive timeout
    (uvicorn's, 5 s on the real server) and the next call must open a new one."""
    idle = 0.5
    with (
        Simulator(services=1, replicas_per_service=1, keep_alive_timeout=idle) as sim,
        pointed_at(sim.url, tmp_path),
    ):
        assert fresh(_serve_status) == _names(sim)  # /api/health, POST /serve/status, /api/get
        first = sim.api_connections
        assert (first.opened, first.idled_out) == (1, 0)  # all three on one kept-alive connection
        _wait_for_idle_out(sim, idle)
        assert fresh(_serve_status) == _names(sim)
        second = sim.api_connections
        assert (second.opened, second.idled_out) == (2, 1)


def _wait_for_idle_out(sim: Simulator, idle: float) -> None:
    """Sleep past the keep-alive timeout until the server has dropped the idle connection."""
    time.sleep(idle + 0.1)
    deadline = time.monotonic() + 2.0
    while sim.api_connections.idled_out == 0:
        assert time.monotonic() < deadline, "the server never dropped the idle connection"
        time.sleep(0.05)

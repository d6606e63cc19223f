"""The simulated API server's authentication, as skypilot 0.14.1's middlewares answer.

sky/server/server.py: ``BearerTokenMiddleware`` (service-account tokens, every path) runs before
``BasicAuthMiddleware`` (only when basic auth is on; ``/api/health`` exempt), and both run outside
``APIVersionMiddleware``, so their 401s never carry the version headers.
"""

import base64
from collections.abc import Iterator

import pytest
import requests

from simulator import Simulator
from tests.unit.simulator.helpers import NEW_CLIENT, TIMEOUT, get, status_round_trip, submit

SA_DISABLED = {"detail": "Service account authentication disabled"}
USER, PASSWORD = "alice", "correct horse"


def _basic(user: str, password: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {**NEW_CLIENT, "Authorization": f"Basic {credentials}"}


def _health(sim: Simulator, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.get(f"{sim.url}/api/health", headers=headers or {}, timeout=TIMEOUT)


def _assert_bearer_refusal(response: requests.Response, body: dict[str, str]) -> None:
    assert response.status_code == 401
    assert response.json() == body
    assert response.headers["Cache-Control"] == "no-store"
    assert "WWW-Authenticate" not in response.headers
    assert response.headers["X-Skypilot-Request-ID"]
    # Refused outside the version middleware: no version headers though the client sent both.
    assert "X-SkyPilot-API-Version" not in response.headers
    assert "X-SkyPilot-Version" not in response.headers


@pytest.fixture(scope="module")
def open_sim() -> Iterator[Simulator]:
    """A server started without a token: service accounts are off."""
    with Simulator(services=1, replicas_per_service=1) as running:
        yield running


@pytest.fixture(scope="module")
def basic_sim() -> Iterator[Simulator]:
    with Simulator(services=1, replicas_per_service=1, basic_auth=(USER, PASSWORD)) as running:
        yield running


# --- started without a token -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/health", "/serve/status", "/api/get?request_id=x", "/nope"])
def test_sky_token_is_refused_everywhere_when_service_accounts_are_off(
    open_sim: Simulator, path: str
) -> None:
    headers = {**NEW_CLIENT, "Authorization": "Bearer sky_some.jwt.token"}
    method = "POST" if path == "/serve/status" else "GET"
    response = requests.request(
        method, f"{open_sim.url}{path}", headers=headers, json={"service_names": None}, timeout=TIMEOUT
    )
    _assert_bearer_refusal(response, SA_DISABLED)


def test_scheme_is_case_insensitive_but_the_sky_prefix_is_not(open_sim: Simulator) -> None:
    refused = _health(open_sim, {"Authorization": "bearer sky_abc"})
    _assert_bearer_refusal(refused, SA_DISABLED)
    # Not a service-account token (no "sky_" prefix): the middleware lets it through untouched.
    assert _health(open_sim, {"Authorization": "Bearer SKY_abc"}).status_code == 200
    assert status_round_trip(open_sim, {**NEW_CLIENT, "Authorization": "Bearer opaque"}).status_code == 200


def test_token_auth_mode_header_makes_any_request_a_bearer_request(open_sim: Simulator) -> None:
    mode = {**NEW_CLIENT, "X-Skypilot-Auth-Mode": "token"}
    _assert_bearer_refusal(_health(open_sim, mode), {"detail": "Authentication required"})
    basic = {**mode, "Authorization": "Basic eDp5"}
    _assert_bearer_refusal(_health(open_sim, basic), {"detail": "Invalid authentication method"})
    opaque = {**mode, "Authorization": "Bearer opaque"}
    _assert_bearer_refusal(_health(open_sim, opaque), SA_DISABLED)


# --- service accounts on (Simulator(token=...)) --------------------------------------------------


def test_a_wrong_sky_token_is_refused_on_health_too() -> None:
    with Simulator(services=1, replicas_per_service=1, token="sky_secret") as sim:
        wrong = _health(sim, {**NEW_CLIENT, "Authorization": "Bearer sky_wrong"})
        _assert_bearer_refusal(wrong, {"detail": "Invalid or expired service account token"})
        good = _health(sim, {**NEW_CLIENT, "Authorization": "Bearer sky_secret"})
        assert good.status_code == 200
        body = good.json()
        assert body["user"]["id"].startswith("sa-")
        assert body["service_account_token_enabled"] is True
        assert body["basic_auth_enabled"] is False


# --- basic auth ----------------------------------------------------------------------------------


def _assert_basic_refusal(response: requests.Response, message: str) -> None:
    assert response.status_code == 401
    assert response.json() == message  # a bare JSON string, not {"detail": ...}
    assert response.headers["WWW-Authenticate"] == 'Basic realm="SkyPilot"'
    assert response.headers["Cache-Control"] == "no-store"
    assert "X-SkyPilot-API-Version" not in response.headers


def test_basic_auth_right_credentials_pass(basic_sim: Simulator) -> None:
    response = status_round_trip(basic_sim, _basic(USER, PASSWORD))
    assert response.status_code == 200
    assert response.json()["status"] == "SUCCEEDED"
    assert response.headers["X-SkyPilot-API-Version"] == "62"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (NEW_CLIENT, "Authentication required"),
        (_basic(USER, "wrong"), "Invalid credentials"),
        (_basic("mallory", PASSWORD), "Invalid credentials"),
        ({**NEW_CLIENT, "Authorization": "Bearer opaque"}, "Invalid authentication method"),
        ({**NEW_CLIENT, "Authorization": "Basic"}, "Invalid authentication method"),
        ({**NEW_CLIENT, "Authorization": "Basic bm9jb2xvbg=="}, "Invalid basic auth"),  # "nocolon"
        ({**NEW_CLIENT, "Authorization": "Basic //79"}, "Invalid basic auth"),  # not UTF-8
    ],
)
def test_basic_auth_refusals(basic_sim: Simulator, headers: dict[str, str], message: str) -> None:
    _assert_basic_refusal(submit(basic_sim, headers=headers), message)
    _assert_basic_refusal(get(basic_sim, "x", headers=headers), message)
    _assert_basic_refusal(requests.get(f"{basic_sim.url}/nope", headers=headers, timeout=TIMEOUT), message)


def test_basic_auth_leaves_health_open_and_names_the_user_it_recognises(basic_sim: Simulator) -> None:
    for headers in (NEW_CLIENT, _basic(USER, "wrong"), {**NEW_CLIENT, "Authorization": "Basic %%%"}):
        anonymous = _health(basic_sim, headers)
        assert anonymous.status_code == 200
        body = anonymous.json()
        # Not NEEDS_AUTH: only the OAuth2 proxy marks a caller anonymous.
        assert body["status"] == "healthy"
        assert body["user"] is None
        assert body["basic_auth_enabled"] is True
    user = _health(basic_sim, _basic(USER, PASSWORD)).json()["user"]
    assert user["name"] == USER
    assert status_round_trip(basic_sim, _basic(USER, PASSWORD)).json()["user_id"] == user["id"]


def test_a_sky_token_meets_the_bearer_middleware_first(basic_sim: Simulator) -> None:
    response = submit(basic_sim, headers={**NEW_CLIENT, "Authorization": "Bearer sky_abc"})
    _assert_bearer_refusal(response, SA_DISABLED)


def test_a_declared_token_request_with_a_bare_bearer_scheme_crashes_the_middleware(
    open_sim: Simulator,
) -> None:
    # server.py indexes split_header[1] unchecked: the IndexError becomes Starlette's bare 500.
    headers = {**NEW_CLIENT, "X-Skypilot-Auth-Mode": "token", "Authorization": "Bearer"}
    response = _health(open_sim, headers)
    assert response.status_code == 500
    assert response.text.rstrip().endswith("IndexError: list index out of range")
    assert "X-Skypilot-Request-ID" not in response.headers

"""Version headers as skypilot 0.14.1's ``APIVersionMiddleware`` sends them (sky/server/server.py).

The middleware reads the client's ``X-SkyPilot-API-Version`` and ``X-SkyPilot-Version`` with
``sky.server.versions.check_compatibility_at_server``: without both it neither checks nor answers
with its own; with both it refuses a client older than API version 24 (400) and otherwise stamps
the response, whatever its status.
"""

import requests

from simulator import Simulator
from tests.unit.simulator.helpers import NEW_CLIENT, TIMEOUT, get, services_of, status_round_trip, submit

API, VERSION = "X-SkyPilot-API-Version", "X-SkyPilot-Version"


def _has_version_headers(response: requests.Response) -> bool:
    present = (API in response.headers, VERSION in response.headers)
    assert present[0] == present[1]
    return present[0]


def test_no_version_headers_for_a_client_that_sends_none(sim: Simulator) -> None:
    assert not _has_version_headers(requests.get(f"{sim.url}/api/health", timeout=TIMEOUT))
    assert not _has_version_headers(requests.get(f"{sim.url}/nope", timeout=TIMEOUT))
    assert not _has_version_headers(status_round_trip(sim, {"User-Agent": "curl"}))


def test_every_answer_to_a_client_that_sends_both_has_them(sim: Simulator) -> None:
    for response in (
        requests.get(f"{sim.url}/api/health", headers=NEW_CLIENT, timeout=TIMEOUT),
        requests.get(f"{sim.url}/nope", headers=NEW_CLIENT, timeout=TIMEOUT),
        get(sim, "no-such-request"),
        submit(sim, {}),  # 422
        status_round_trip(sim),
    ):
        assert response.headers[API] == "62"
        assert response.headers[VERSION] == "0.14.1"


def test_one_header_alone_is_as_good_as_none(sim: Simulator) -> None:
    for headers in ({API: "62"}, {VERSION: "0.14.1"}, {API: "10"}, {API: "not-a-number"}):
        response = status_round_trip(sim, headers)
        assert response.status_code == 200
        assert not _has_version_headers(response)
    # Without both, the server does not know the client's API version: it sends the old handles.
    replicas = [r for s in services_of(status_round_trip(sim, {API: "62"})) for r in s["replica_info"]]
    assert any(r["handle"] is not None for r in replicas)


def test_a_too_old_client_is_refused_on_every_path_with_the_servers_message(sim: Simulator) -> None:
    old = {API: "23", VERSION: "0.10.0"}
    for response in (
        requests.get(f"{sim.url}/api/health", headers=old, timeout=TIMEOUT),
        submit(sim, headers=old),
        requests.get(f"{sim.url}/nope", headers=old, timeout=TIMEOUT),
    ):
        assert response.status_code == 400
        assert response.headers[API] == "62"
        assert response.json() == {
            "error": "version_mismatch",
            "message": (
                "\x1b[33mYour SkyPilot client version is too old:0.10.0\n\x1b[0m"
                "The server is running on 0.14.1 and the minimum compatible version is 0.11.0.\n"
                'Upgrade your client with:\n\x1b[33mpip install -U "skypilot==0.14.1"\x1b[0m'
            ),
        }
    assert submit(sim, headers={API: "24", VERSION: "0.11.0"}).status_code == 200


def test_an_unparsable_api_version_with_a_version_is_a_bare_500(sim: Simulator) -> None:
    response = requests.get(
        f"{sim.url}/api/health", headers={API: "sixty-two", VERSION: "0.14.1"}, timeout=TIMEOUT
    )
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text.rstrip().endswith(
        "ValueError: Header X-SkyPilot-API-Version: sixty-two is not a valid API version."
    )
    # Raised inside the middleware stack, answered by Starlette outside it: no request id.
    assert "X-Skypilot-Request-ID" not in response.headers
    assert not _has_version_headers(response)

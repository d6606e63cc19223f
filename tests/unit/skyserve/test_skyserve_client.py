import base64
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from collectors.skyserve.client import POOLS_FAILED, SkyServeClient
from collectors.skyserve.config import Connection, TokenSource, split_credentials
from collectors.skyserve.wire import service_of
from exporter.errors import (
    CollectorError,
    ErrorKind,
    UpstreamAuthError,
    UpstreamParseError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from simulator import Simulator
from tests.unit.skyserve.helpers import ENDPOINT, load

HEALTH = f"{ENDPOINT}/api/health"
STATUS = f"{ENDPOINT}/serve/status"
CLUSTERS = f"{ENDPOINT}/status"
POOLS = f"{ENDPOINT}/jobs/pool_status"
GET = f"{ENDPOINT}/api/get"
REQUEST_ID = "4f9c3e2a-8f1d-4c57-9a51-2d6ad7c1b0e7"
CLUSTERS_REQUEST_ID = "9d2b7c4e-5a1f-4e3b-8c6d-7f0a1b2c3d4e"
POOLS_REQUEST_ID = "87612ec2-b381-462e-91d2-71db45f9178b"
# Each call of a poll: where it is submitted, the request id the server gives it, its recorded answer.
CALLS = (
    (STATUS, REQUEST_ID, "api_get_serve_status.json"),
    (CLUSTERS, CLUSTERS_REQUEST_ID, "api_get_status_controllers.json"),
    (POOLS, POOLS_REQUEST_ID, "api_get_pool_status.json"),
)
SERVER_HEADERS = {"X-SkyPilot-API-Version": "62", "X-SkyPilot-Version": "0.14.1"}
PASSWORD = "s3cr3t-pass"


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def _client(endpoint: str = ENDPOINT, token: TokenSource | None = None, **kwargs: Any) -> SkyServeClient:
    base_url, basic = split_credentials(endpoint)
    connection = Connection(base_url=base_url, basic_auth=basic, token=token or TokenSource())
    kwargs.setdefault("sleep", lambda seconds: None)
    kwargs.setdefault("pools", False)  # the pools have their own tests (test_skyserve_pools.py)
    return SkyServeClient(requests.Session(), connection, kwargs.pop("timeout", 20.0), **kwargs)


def _serve(
    mock: responses.RequestsMock,
    get_json: Any = None,
    get_status: int = 200,
    request_id_header: str = "X-Skypilot-Request-ID",
) -> None:
    mock.get(HEALTH, json=load("api_health.json"), headers=SERVER_HEADERS)
    mock.post(STATUS, json=None, headers={request_id_header: REQUEST_ID, **SERVER_HEADERS})
    body = load("api_get_serve_status.json") if get_json is None else get_json
    mock.get(GET, json=body, status=get_status, headers=SERVER_HEADERS)


def _payload(status: str, return_value: Any = None) -> dict[str, Any]:
    payload: dict[str, Any] = load("api_get_serve_status.json")
    payload["status"] = status
    payload["return_value"] = json.dumps(return_value)
    return payload


def test_fetch_follows_the_skypilot_request_flow(mock: responses.RequestsMock) -> None:
    mock.get(HEALTH, json=load("api_health.json"), headers=SERVER_HEADERS)
    mock.post(
        STATUS,
        json=None,
        headers={"X-Skypilot-Request-ID": REQUEST_ID},
        match=[matchers.json_params_matcher({"service_names": None})],
    )
    mock.get(
        GET,
        json=load("api_get_serve_status.json"),
        match=[matchers.query_param_matcher({"request_id": REQUEST_ID})],
    )
    # The CLI's question, with the fields whose server-side defaults would send the controller's
    # SSH key, creation YAML and pickled handle turned off.
    expected_body = {
        "cluster_names": ["sky-serve-controller-*", "sky-jobs-controller-*"],
        "all_users": True,
        "refresh": "NONE",
        "include_credentials": False,
        "summary_response": True,
        "include_handle": False,
    }
    mock.post(
        CLUSTERS,
        json=None,
        headers={"X-Skypilot-Request-ID": CLUSTERS_REQUEST_ID},
        match=[matchers.json_params_matcher(expected_body)],
    )
    mock.get(
        GET,
        json=load("api_get_status_controllers.json"),
        match=[matchers.query_param_matcher({"request_id": CLUSTERS_REQUEST_ID})],
    )
    result = _client().fetch()
    wires = [service_of(source) for source in result.services]
    assert [s.name if s is not None else s for s in wires] == [
        "llama-svc",
        "mistral-svc",
        None,
        "embed-svc",
    ]
    assert result.upstream == {"version": "0.14.1", "api_version": "62"}
    assert result.controllers.problem is None
    assert [(r["name"], r["status"]) for r in result.controllers.records] == [
        ("sky-jobs-controller-7f3e9a1c", "UP"),
        ("sky-serve-controller-7f3e9a1c", "UP"),
    ]
    # Both are submitted before either answer is collected, and serve.status is collected first.
    assert [call.request.url.split("?")[0] for call in mock.calls if call.request.url] == [
        HEALTH,
        STATUS,
        CLUSTERS,
        GET,
        GET,
    ]
    assert [_asked(call)[2] for call in mock.calls[3:]] == [REQUEST_ID, CLUSTERS_REQUEST_ID]
    for call in mock.calls:
        assert call.request.headers["X-SkyPilot-API-Version"] == "62"
        assert call.request.headers["X-SkyPilot-Version"] == "0.14.1"
        assert "Authorization" not in call.request.headers


def test_request_id_header_is_read_case_insensitively(mock: responses.RequestsMock) -> None:
    _serve(mock, request_id_header="x-skypilot-request-id")
    assert len(_client().fetch().services) == 4


def test_version_falls_back_to_response_headers(mock: responses.RequestsMock) -> None:
    _serve(mock)
    mock.replace(responses.GET, HEALTH, json={"status": "healthy"}, headers=SERVER_HEADERS)
    assert _client().fetch().upstream == {"version": "0.14.1", "api_version": "62"}


def test_bearer_token_is_sent(mock: responses.RequestsMock) -> None:
    _serve(mock)
    _client(token=TokenSource(value="sky_abc123")).fetch()
    assert {call.request.headers["Authorization"] for call in mock.calls} == {"Bearer sky_abc123"}


def test_token_file_is_read_on_every_fetch(mock: responses.RequestsMock, tmp_path: Any) -> None:
    _serve(mock)
    token_file = tmp_path / "token"
    token_file.write_text("sky_first\n")
    client = _client(token=TokenSource(path=token_file))
    client.fetch()
    token_file.write_text("sky_rotated\n")
    client.fetch()
    assert mock.calls[0].request.headers["Authorization"] == "Bearer sky_first"
    assert mock.calls[-1].request.headers["Authorization"] == "Bearer sky_rotated"


def test_credentials_in_the_url_are_sent_as_basic_auth(mock: responses.RequestsMock) -> None:
    _serve(mock)
    _client(endpoint=f"http://admin:{PASSWORD}@skypilot-api:46580").fetch()
    expected = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    for call in mock.calls:
        assert call.request.headers["Authorization"] == expected
        assert PASSWORD not in (call.request.url or "")


def test_long_poll_is_retried_while_the_request_is_unfinished(mock: responses.RequestsMock) -> None:
    mock.get(HEALTH, json=load("api_health.json"))
    mock.post(STATUS, headers={"X-Skypilot-Request-ID": REQUEST_ID})
    mock.get(GET, json=_payload("PENDING"))
    mock.get(GET, json=_payload("RUNNING"))
    mock.get(GET, json=load("api_get_serve_status.json"))
    naps: list[float] = []
    result = _client(sleep=naps.append, retry_delay=0.25).fetch()
    assert len(result.services) == 4
    assert naps == [0.25, 0.25]
    assert sum(1 for call in mock.calls if call.request.url and "/api/get" in call.request.url) == 3


def _timeout(call: Any) -> float:
    """The timeout requests was given for a recorded call."""
    timeout: float = call.request.req_kwargs["timeout"]
    return timeout


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_long_poll_gives_up_at_the_deadline(mock: responses.RequestsMock) -> None:
    _serve(mock, get_json=_payload("RUNNING"))
    clock = _Clock()
    with pytest.raises(UpstreamTimeout) as raised:
        _client(timeout=5.0, monotonic=clock, sleep=clock.sleep, retry_delay=1.0).fetch()
    assert raised.value.kind is ErrorKind.TIMEOUT
    assert "5s" in str(raised.value)
    timeouts = [_timeout(call) for call in mock.calls if call.request.url != CLUSTERS]
    assert timeouts[0] == 5.0 and timeouts[-1] == pytest.approx(1.0)
    assert timeouts == sorted(timeouts, reverse=True)


def test_each_request_gets_the_remaining_budget(mock: responses.RequestsMock) -> None:
    clock = _Clock()

    def slow_health(request: Any) -> tuple[int, dict[str, str], str]:
        clock.sleep(3.0)
        return 200, {}, json.dumps(load("api_health.json"))

    mock.add_callback(responses.GET, HEALTH, callback=slow_health)
    mock.post(STATUS, headers={"X-Skypilot-Request-ID": REQUEST_ID})
    mock.get(GET, json=load("api_get_serve_status.json"))
    mock.post(CLUSTERS, headers={"X-Skypilot-Request-ID": REQUEST_ID})
    _client(timeout=10.0, monotonic=clock).fetch()
    # Submitting the controllers' status may take a quarter of what is left; serve.status's answer
    # then gets all that is left, and the controllers' answer half of what is left after it.
    assert [_timeout(call) for call in mock.calls] == [10.0, 7.0, 1.75, 7.0, 3.5]


# -- every call is submitted before any answer is collected


def _asked(call: Any) -> tuple[str, str, str | None]:
    """A recorded call as (method, URL without the query, the request id it asked about)."""
    url = urlsplit(call.request.url)
    request_id = parse_qs(url.query).get("request_id", [None])[0]
    return call.request.method, f"{url.scheme}://{url.netloc}{url.path}", request_id


def _hangs(clock: _Clock) -> Callable[[Any], Exception]:
    """An answer that never comes: the client's timeout for it runs out on ``clock``."""

    def callback(request: Any) -> Exception:
        clock.sleep(request.req_kwargs["timeout"])
        return requests.ReadTimeout("read timed out")

    return callback


def _serve_all(mock: responses.RequestsMock, clock: _Clock, hanging: frozenset[str] = frozenset()) -> None:
    """A poll with all its calls, each answer matched to its request id; the submits (named by URL)
    and answers (named by request id) in ``hanging`` never answer."""
    mock.get(HEALTH, json=load("api_health.json"), headers=SERVER_HEADERS)
    for url, request_id, fixture in CALLS:
        if url in hanging:
            mock.add_callback(responses.POST, url, callback=_hangs(clock))
        else:
            mock.post(url, json=None, headers={"X-Skypilot-Request-ID": request_id, **SERVER_HEADERS})
        match = [matchers.query_param_matcher({"request_id": request_id})]
        if request_id in hanging:
            mock.add_callback(responses.GET, GET, callback=_hangs(clock), match=match)
        else:
            mock.get(GET, json=load(fixture), headers=SERVER_HEADERS, match=match)


def test_every_call_is_submitted_before_any_answer_is_collected(mock: responses.RequestsMock) -> None:
    """The server runs each request from its submission on: asked so, a poll waits for the slowest
    call, not for all of them one after another."""
    clock = _Clock()
    _serve_all(mock, clock)
    answer = _client(monotonic=clock, pools=True).fetch()
    assert len(answer.services) == 4
    assert len(answer.controllers.records) == 2 and len(answer.pools.records) == 2
    assert [_asked(call) for call in mock.calls] == [
        ("GET", HEALTH, None),
        ("POST", STATUS, None),
        ("POST", CLUSTERS, None),
        ("POST", POOLS, None),
        ("GET", GET, REQUEST_ID),
        ("GET", GET, CLUSTERS_REQUEST_ID),
        ("GET", GET, POOLS_REQUEST_ID),
    ]


def test_the_calls_run_side_by_side_on_the_server() -> None:
    """Against the simulator, where each request is done ``delay`` seconds after its submission:
    every call was submitted before the first could be done, so their server-side windows overlap
    (asked one after another, each would be submitted only once the one before was done)."""
    delay = 2.0  # far longer than three submits on loopback take, however slow the machine
    with Simulator(services=1, replicas_per_service=1, seed=4, pools=1, request_delay=delay) as sim:
        answer = _client(sim.url, pools=True).fetch()
        asked = sim.submitted_requests
    assert answer.services and answer.controllers.problem is None and answer.pools.reason is None
    assert [request.name for request in asked] == ["sky.serve.status", "sky.status", "sky.jobs.pool_status"]
    assert max(request.created_at for request in asked) < min(request.ready_at for request in asked)


def test_a_status_answer_that_hangs_costs_only_its_share(mock: responses.RequestsMock) -> None:
    clock = _Clock()
    _serve_all(mock, clock, hanging=frozenset({CLUSTERS_REQUEST_ID}))
    answer = _client(timeout=10.0, monotonic=clock, pools=True).fetch()
    assert len(answer.services) == 4
    assert answer.controllers.problem is not None and "no answer" in answer.controllers.problem
    # Half of what was left once the services were in: the pools' answer still had its turn.
    assert clock.now == pytest.approx(100.0 + 5.0)
    assert len(answer.pools.records) == 2


def test_secondary_submits_that_hang_hold_serve_status_back_by_their_share_only(
    mock: responses.RequestsMock,
) -> None:
    clock = _Clock()
    _serve_all(mock, clock, hanging=frozenset({CLUSTERS, POOLS}))
    answer = _client(timeout=10.0, monotonic=clock, pools=True).fetch()
    assert len(answer.services) == 4
    assert answer.controllers.problem is not None and "no answer" in answer.controllers.problem
    assert answer.pools.reason == POOLS_FAILED
    # serve.status was submitted before them; each then took a quarter of what was left, and
    # serve.status's answer had all the rest. Neither secondary answer was asked for.
    assert [(_asked(call)[1], _timeout(call)) for call in mock.calls] == [
        (HEALTH, 10.0),
        (STATUS, 10.0),
        (CLUSTERS, 2.5),
        (POOLS, 1.875),
        (GET, 5.625),
    ]


def test_when_serve_status_fails_the_other_answers_are_not_collected(mock: responses.RequestsMock) -> None:
    clock = _Clock()
    _serve_all(mock, clock, hanging=frozenset({REQUEST_ID}))
    with pytest.raises(UpstreamTimeout):
        _client(timeout=10.0, monotonic=clock, pools=True).fetch()
    assert [_asked(call)[2] for call in mock.calls if _asked(call)[1] == GET] == [REQUEST_ID]
    assert {_asked(call)[1] for call in mock.calls} == {HEALTH, STATUS, CLUSTERS, POOLS, GET}


def _refuse(mock: responses.RequestsMock) -> None:
    error = requests.ConnectionError(
        "HTTPConnectionPool(host='skypilot-api', port=46580): Max retries exceeded with url: /api/health "
        "(Caused by NewConnectionError('Failed to establish a new connection: "
        "[Errno 111] Connection refused'))"
    )
    mock.get(HEALTH, body=error)


def _http(status: int, url: str = HEALTH, **kwargs: Any) -> Callable[[responses.RequestsMock], None]:
    def setup(mock: responses.RequestsMock) -> None:
        _serve(mock)
        mock.replace(responses.GET if url != STATUS else responses.POST, url, status=status, **kwargs)

    return setup


ERROR_CASES: dict[str, tuple[Callable[[responses.RequestsMock], None], type[CollectorError], ErrorKind]] = {
    "refused": (_refuse, UpstreamUnavailable, ErrorKind.UNAVAILABLE),
    "read timeout": (
        lambda m: m.get(HEALTH, body=requests.ReadTimeout()),
        UpstreamTimeout,
        ErrorKind.TIMEOUT,
    ),
    "connect timeout": (
        lambda m: m.get(HEALTH, body=requests.ConnectTimeout()),
        UpstreamTimeout,
        ErrorKind.TIMEOUT,
    ),
    "401 health": (_http(401), UpstreamAuthError, ErrorKind.AUTH),
    "401 status": (_http(401, STATUS, json={"detail": "Invalid token"}), UpstreamAuthError, ErrorKind.AUTH),
    "403 get": (_http(403, GET), UpstreamAuthError, ErrorKind.AUTH),
    "garbage health": (_http(200, body="<html>proxy</html>"), UpstreamParseError, ErrorKind.PARSE),
    "garbage get": (_http(200, GET, body="not json {"), UpstreamParseError, ErrorKind.PARSE),
    "health not an object": (_http(200, json=[1, 2]), UpstreamParseError, ErrorKind.PARSE),
    "payload wrong shape": (_http(200, GET, json={"detail": "x"}), UpstreamParseError, ErrorKind.PARSE),
    "return_value not json": (
        _http(200, GET, json={**load("api_get_serve_status.json"), "return_value": "[{oops"}),
        UpstreamParseError,
        ErrorKind.PARSE,
    ),
    "return_value not a list": (
        _http(200, GET, json=_payload("SUCCEEDED", {"name": "svc"})),
        UpstreamParseError,
        ErrorKind.PARSE,
    ),
    "missing request id": (
        _http(200, STATUS, json=None),
        UpstreamParseError,
        ErrorKind.PARSE,
    ),
    "404 status endpoint": (
        _http(404, STATUS, json={"detail": "Not Found"}),
        UpstreamParseError,
        ErrorKind.PARSE,
    ),
    "404 unknown request id": (
        _http(404, GET, json={"detail": f"Request {REQUEST_ID!r} not found"}),
        CollectorError,
        ErrorKind.OTHER,
    ),
    "500 skypilot error": (
        _http(500, GET, json=load("api_get_500_generic.json")),
        CollectorError,
        ErrorKind.OTHER,
    ),
    "500 plain": (_http(500, GET, body="Internal Server Error"), UpstreamUnavailable, ErrorKind.UNAVAILABLE),
    "502 proxy": (_http(502, STATUS, body="Bad Gateway"), UpstreamUnavailable, ErrorKind.UNAVAILABLE),
    "503 should retry": (
        _http(503, GET, json={"detail": "Request should be retried"}),
        UpstreamUnavailable,
        ErrorKind.UNAVAILABLE,
    ),
    "400 version": (_http(400, STATUS, json={"detail": "client too old"}), CollectorError, ErrorKind.OTHER),
    "cancelled": (_http(200, GET, json=_payload("CANCELLED")), CollectorError, ErrorKind.OTHER),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_are_classified(mock: responses.RequestsMock, case: str) -> None:
    setup, error_type, kind = ERROR_CASES[case]
    setup(mock)
    with pytest.raises(error_type) as raised:
        _client().fetch()
    assert raised.value.kind is kind


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_no_error_message_holds_credentials(mock: responses.RequestsMock, case: str) -> None:
    setup, error_type, _ = ERROR_CASES[case]
    setup(mock)
    client = _client(
        endpoint=f"http://admin:{PASSWORD}@skypilot-api:46580", token=TokenSource(value="sky_tok3n")
    )
    with pytest.raises(error_type) as raised:
        client.fetch()
    for error in _chain(raised.value):
        for text in (str(error), repr(error)):
            assert PASSWORD not in text and "sky_tok3n" not in text
    assert PASSWORD not in repr(client.__dict__)


def test_skypilot_error_message_is_reported_without_secrets(mock: responses.RequestsMock) -> None:
    _serve(mock, get_json=load("api_get_500_generic.json"), get_status=500)
    with pytest.raises(CollectorError) as raised:
        _client().fetch()
    message = str(raised.value)
    assert "RuntimeError: Failed to connect to serve controller" in message
    assert "hunter2" not in message and "http://***@10.0.0.9:20001" in message
    assert "TOPSECRET" not in message and "Traceback" not in message
    assert "\x1b" not in message


def test_no_live_services_is_an_empty_fleet(mock: responses.RequestsMock) -> None:
    _serve(mock, get_json=load("api_get_500_no_live_services.json"), get_status=500)
    result = _client().fetch()
    assert result.services == ()
    assert result.upstream == {"version": "0.14.1", "api_version": "62"}


def test_redirect_to_a_login_page_is_an_auth_error(mock: responses.RequestsMock) -> None:
    _serve(mock)
    mock.replace(responses.GET, HEALTH, status=302, headers={"Location": f"{ENDPOINT}/oauth2/start?rd=/"})
    mock.get(f"{ENDPOINT}/oauth2/start", body="<html>sign in</html>", content_type="text/html")
    with pytest.raises(UpstreamAuthError):
        _client().fetch()


def test_unreadable_token_file_is_reported_with_its_path(tmp_path: Any) -> None:
    missing = tmp_path / "gone"
    with pytest.raises(CollectorError) as raised:
        _client(token=TokenSource(path=missing)).fetch()
    assert str(missing) in str(raised.value) and raised.value.kind is ErrorKind.OTHER


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_real_refused_connection_is_unavailable() -> None:
    client = _client(endpoint=f"http://admin:{PASSWORD}@127.0.0.1:{_closed_port()}", timeout=5.0)
    with pytest.raises(UpstreamUnavailable) as raised:
        client.fetch()
    assert "Connection refused" in str(raised.value)
    assert "127.0.0.1" in str(raised.value) and PASSWORD not in str(raised.value)

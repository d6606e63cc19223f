"""The controller cluster: ``status`` on every poll, the CLI's reading of a failed ``serve.status``,
the controller records and their family, and the server's reason in a refusal.

HTTP is mocked here; ``test_skyserve_against_the_cli.py`` runs the same cases against the simulator
next to SkyPilot's own CLI.
"""

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from collectors.skyserve.client import ServeStatusAnswer, SkyServeClient
from collectors.skyserve.collector import CONTROLLER_STATUS_FAILED, Polled, SkyServeCollector
from collectors.skyserve.config import Connection, TokenSource, split_credentials
from collectors.skyserve.metrics import CONTROLLER_STATUSES
from collectors.skyserve.records import (
    BAD_ENCODING,
    DUPLICATE_CONTROLLER,
    INVALID_CONTROLLER,
    parse_controllers,
)
from exporter.errors import CollectorError, ErrorKind, UpstreamAuthError, UpstreamUnavailable
from tests.unit.skyserve.helpers import ENDPOINT, context, load, recorded_services, render, samples, value

HEALTH = f"{ENDPOINT}/api/health"
SERVE_STATUS = f"{ENDPOINT}/serve/status"
CLUSTERS = f"{ENDPOINT}/status"
GET = f"{ENDPOINT}/api/get"
SERVE_ID = "4f9c3e2a-8f1d-4c57-9a51-2d6ad7c1b0e7"
CLUSTERS_ID = "9d2b7c4e-5a1f-4e3b-8c6d-7f0a1b2c3d4e"
CONTROLLER = "sky-serve-controller-7f3e9a1c"
NETWORK_ERROR = "Failed to refresh services status due to network error."
TOKEN = "sky_3fa9c1d2e7b84b0c9d6e5f4a3b2c1d0e"
PASSWORD = "s3cr3t-pass"
NOW = 1_795_830_000.0


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def _client(endpoint: str = ENDPOINT, token: str | None = None) -> SkyServeClient:
    base_url, basic = split_credentials(endpoint)
    connection = Connection(base_url=base_url, basic_auth=basic, token=TokenSource(value=token))
    return SkyServeClient(requests.Session(), connection, 20.0, sleep=lambda seconds: None)


def _failed(error_type: str, message: str) -> dict[str, Any]:
    """A 500 ``{"detail": payload}`` body for a serve.status request that raised."""
    error: dict[str, Any] = {
        "type": error_type,
        "message": message,
        "args": [message],
        "attributes": {},
        "stacktrace": None,
    }
    payload = {
        "request_id": SERVE_ID,
        "name": "sky.serve.status",
        "status": "FAILED",
        "return_value": "null",
        "error": json.dumps(error),
    }
    return {"detail": payload}


def _controller(status: str, name: str = CONTROLLER, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(load("api_get_status_controllers.json")["return_value"])[0]
    return {**record, "name": name, "status": status, **extra}


def _clusters_payload(records: list[Any]) -> dict[str, Any]:
    payload: dict[str, Any] = load("api_get_status_controllers.json")
    return {**payload, "return_value": json.dumps(records)}


def _serve(
    mock: responses.RequestsMock,
    serve: tuple[int, Any] | None = None,
    controllers: list[Any] | None = None,
    clusters_status: int = 200,
    clusters_body: Any = None,
) -> None:
    """One poll: ``serve`` is serve.status's (HTTP status, body); ``controllers`` the status records
    (``clusters_body`` the whole answer to ``POST /status``)."""
    code, body = serve if serve is not None else (200, load("api_get_serve_status.json"))
    mock.get(HEALTH, json=load("api_health.json"))
    mock.post(SERVE_STATUS, headers={"X-Skypilot-Request-ID": SERVE_ID})
    mock.get(GET, status=code, json=body, match=[matchers.query_param_matcher({"request_id": SERVE_ID})])
    mock.post(
        CLUSTERS, status=clusters_status, json=clusters_body, headers={"X-Skypilot-Request-ID": CLUSTERS_ID}
    )
    found = _clusters_payload([_controller("UP")] if controllers is None else controllers)
    mock.get(GET, json=found, match=[matchers.query_param_matcher({"request_id": CLUSTERS_ID})])


def _collected_clusters(mock: responses.RequestsMock) -> bool:
    """Whether the controllers' answer was asked for (their status is submitted on every poll)."""
    return any(CLUSTERS_ID in (call.request.url or "") for call in mock.calls)


# -- what a failed serve.status means, as `sky serve status` reads it


@pytest.mark.parametrize(
    "controllers",
    [
        pytest.param([], id="no controller"),
        pytest.param([_controller("STOPPED")], id="stopped"),
        # status lists the latest launched first, and the CLI reads only that one.
        pytest.param([_controller("STOPPED"), _controller("UP", name=CONTROLLER + "x")], id="latest stopped"),
    ],
)
def test_a_network_error_without_a_live_controller_is_no_services(
    mock: responses.RequestsMock, controllers: list[Any]
) -> None:
    _serve(mock, serve=(500, _failed("RuntimeError", NETWORK_ERROR)), controllers=controllers)
    answer = _client().fetch()
    assert answer.services == ()
    assert answer.controllers.problem is None
    assert len(answer.controllers.records) == len(controllers)


@pytest.mark.parametrize("status", ["UP", "INIT", "AUTOSTOPPING"])
def test_a_network_error_with_a_live_controller_is_unavailable_with_the_servers_message(
    mock: responses.RequestsMock, status: str
) -> None:
    _serve(mock, serve=(500, _failed("RuntimeError", NETWORK_ERROR)), controllers=[_controller(status)])
    with pytest.raises(UpstreamUnavailable) as raised:
        _client().fetch()
    assert raised.value.kind is ErrorKind.UNAVAILABLE
    message = str(raised.value)
    assert f"RuntimeError: {NETWORK_ERROR}" in message
    assert f"serve controller {CONTROLLER} is {status}" in message


def test_a_network_error_when_the_controller_cannot_be_asked_is_unavailable(
    mock: responses.RequestsMock,
) -> None:
    _serve(mock, serve=(500, _failed("RuntimeError", NETWORK_ERROR)), clusters_status=502)
    with pytest.raises(UpstreamUnavailable) as raised:
        _client().fetch()
    message = str(raised.value)
    assert NETWORK_ERROR in message
    assert "the serve controller's status is unknown: status: HTTP 502" in message


def test_a_malformed_controller_record_does_not_pass_for_a_stopped_one(mock: responses.RequestsMock) -> None:
    malformed = {**_controller("STOPPED"), "status": None}
    _serve(mock, serve=(500, _failed("RuntimeError", NETWORK_ERROR)), controllers=[malformed])
    with pytest.raises(UpstreamUnavailable):
        _client().fetch()


def test_another_runtime_error_keeps_its_class_and_carries_the_servers_message(
    mock: responses.RequestsMock,
) -> None:
    message = "failed to connect to all addresses (StatusCode.UNAVAILABLE)"
    _serve(mock, serve=(500, _failed("RuntimeError", message)), controllers=[_controller("UP")])
    with pytest.raises(CollectorError) as raised:
        _client().fetch()
    assert raised.value.kind is ErrorKind.OTHER
    assert f"RuntimeError: {message}" in str(raised.value)


def test_any_runtime_error_without_a_controller_is_no_services_as_in_the_cli(
    mock: responses.RequestsMock,
) -> None:
    """The CLI checks the controller after any RuntimeError: it may have stopped mid-question."""
    _serve(mock, serve=(500, _failed("RuntimeError", "Failed to fetch services")), controllers=[])
    assert _client().fetch().services == ()


def test_other_remote_errors_fail_without_waiting_for_the_controller(mock: responses.RequestsMock) -> None:
    message = "Failed to connect to serve controller, please try again later."
    _serve(mock, serve=(500, _failed("ClusterNotUpError", message)), controllers=[])
    with pytest.raises(CollectorError) as raised:
        _client().fetch()
    assert raised.value.kind is ErrorKind.OTHER
    assert f"ClusterNotUpError: {message}" in str(raised.value)
    assert not _collected_clusters(mock)


def test_no_live_services_needs_no_controller_to_be_read(mock: responses.RequestsMock) -> None:
    _serve(mock, serve=(500, load("api_get_500_no_live_services.json")), controllers=[_controller("STOPPED")])
    answer = _client().fetch()
    assert answer.services == ()
    assert [r["status"] for r in answer.controllers.records] == ["STOPPED"]


# -- the status call failing never fails the services


@pytest.mark.parametrize(
    ("poll", "expected"),
    [
        pytest.param({"clusters_status": 404}, "status: HTTP 404", id="404"),
        pytest.param(
            {"clusters_status": 401, "clusters_body": {"detail": "Not allowed"}},
            "refused our credentials (HTTP 401): Not allowed",
            id="401",
        ),
        pytest.param(
            {"controllers": {"not": "a list"}}, "return_value is a dict, not a list", id="not a list"
        ),
    ],
)
def test_a_failed_status_call_leaves_the_services_and_says_why(
    mock: responses.RequestsMock, poll: dict[str, Any], expected: str
) -> None:
    _serve(mock, **poll)
    answer = _client().fetch()
    assert len(answer.services) == 4
    assert answer.controllers.records == ()
    assert answer.controllers.problem is not None and expected in answer.controllers.problem


def test_a_failed_status_call_is_counted_and_logged_once_per_episode(
    mock: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    _serve(mock, clusters_status=503)
    collector = SkyServeCollector.from_config({"endpoint": ENDPOINT}, context())
    caplog.set_level(logging.DEBUG, logger="test.skyserve")
    builds = [collector.build(collector.fetch(), NOW) for _ in range(2)]
    assert [build.skipped.get(CONTROLLER_STATUS_FAILED) for build in builds] == [1, 1]
    assert "skyserve_controller_status{" not in render(builds[0].families)
    assert [r.levelno for r in caplog.records if "controller status" in r.getMessage()] == [
        logging.WARNING,
        logging.DEBUG,
    ]
    mock.replace(responses.POST, CLUSTERS, headers={"X-Skypilot-Request-ID": CLUSTERS_ID})
    recovered = collector.build(collector.fetch(), NOW)
    assert CONTROLLER_STATUS_FAILED not in recovered.skipped
    assert caplog.records[-1].getMessage() == "controller status available again"


# -- records and the family


def test_controller_records_are_parsed_with_their_placement() -> None:
    records = json.loads(load("api_get_status_controllers.json")["return_value"])
    jobs, controller = parse_controllers(records).records  # latest launched first
    assert (jobs.name, jobs.kind, jobs.placement.resources.instance_type) == (
        "sky-jobs-controller-7f3e9a1c",
        "jobs",
        "m6i.xlarge",
    )
    assert (controller.name, controller.kind, controller.status) == (CONTROLLER, "serve", "UP")
    assert controller.launched_at == 1_795_560_800.0
    assert (controller.autostop_minutes, controller.to_down) == (10, False)
    placement = controller.placement
    assert (placement.cloud, placement.region, placement.zone) == ("aws", "us-east-1", "")
    resources = placement.resources
    assert (resources.nodes, resources.spot, resources.instance_type) == (1, False, "m6i.xlarge")
    assert (resources.cpus, resources.memory_gib, resources.accelerator) == (4.0, 16.0, "")


def test_malformed_controller_records_are_skipped_and_counted() -> None:
    found = parse_controllers(
        [
            _controller("UP"),
            _controller("STOPPED"),  # the same name again
            _controller("UP", name="my-cluster"),  # not a controller
            _controller(""),
            "not an object",
            _controller("UP", name="sky-jobs-controller-7f3e9a1c", autostop=-1, to_down=True),
            _controller("UP", name="sky-serve-controller-\ud800"),
        ]
    )
    assert [(r.name, r.kind) for r in found.records] == [
        (CONTROLLER, "serve"),
        ("sky-jobs-controller-7f3e9a1c", "jobs"),
    ]
    assert (found.records[1].autostop_minutes, found.records[1].to_down) == (None, True)
    assert found.skipped == {DUPLICATE_CONTROLLER: 1, INVALID_CONTROLLER: 3, BAD_ENCODING: 1}


@pytest.mark.parametrize("status", ["STOPPED", "DRAINING"])
def test_controller_status_is_one_hot_over_every_cluster_status(status: str) -> None:
    collector = SkyServeCollector.from_config({"endpoint": ENDPOINT}, context())
    answer = ServeStatusAnswer(services=tuple(recorded_services()), upstream={})
    raw = Polled.decode(answer)
    raw = Polled(raw.fleet, raw.upstream, parse_controllers([_controller(status)]))
    parsed = samples(render(collector.build(raw, NOW).families))
    statuses = {
        dict(labels)["status"]: found
        for (name, labels), found in parsed.items()
        if name == "skyserve_controller_status"
    }
    expected = {s: 0.0 for s in CONTROLLER_STATUSES} | {status: 1.0}
    assert statuses == expected
    assert (
        value(parsed, "skyserve_controller_status", controller=CONTROLLER, kind="serve", status=status) == 1
    )


# -- a refusal keeps the server's reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param({"detail": "Service account authentication disabled"}, "Service account", id="bearer"),
        pytest.param("Invalid credentials", "Invalid credentials", id="basic (a bare JSON string)"),
    ],
)
def test_a_refusal_carries_the_servers_reason_and_no_credential(
    mock: responses.RequestsMock, body: Any, reason: str
) -> None:
    _serve(mock)
    mock.replace(responses.GET, HEALTH, status=401, json=body, headers={"Cache-Control": "no-store"})
    client = _client(endpoint=f"http://admin:{PASSWORD}@skypilot-api:46580", token=TOKEN)
    with pytest.raises(UpstreamAuthError) as raised:
        client.fetch()
    message = str(raised.value)
    assert message.startswith(f"health check: {ENDPOINT} refused our credentials (HTTP 401): {reason}")
    assert TOKEN not in message and TOKEN[4:] not in message and PASSWORD not in message


def test_a_refusal_reason_is_redacted_and_bounded(mock: responses.RequestsMock) -> None:
    _serve(mock)
    detail = f"\x1b[31mtoken Bearer {TOKEN} rejected by http://admin:{PASSWORD}@idp\x1b[0m " + "x" * 2000
    mock.replace(responses.POST, SERVE_STATUS, status=403, json={"detail": detail})
    with pytest.raises(UpstreamAuthError) as raised:
        _client().fetch()
    message = str(raised.value)
    assert TOKEN not in message and PASSWORD not in message and "\x1b" not in message
    assert "rejected by http://***@idp" in message
    assert len(message) < 600


def test_a_refusal_without_a_json_reason_says_only_the_status(mock: responses.RequestsMock) -> None:
    _serve(mock)
    mock.replace(responses.GET, HEALTH, status=401, body="<html>nope</html>", content_type="text/html")
    with pytest.raises(UpstreamAuthError) as raised:
        _client().fetch()
    assert str(raised.value) == f"health check: {ENDPOINT} refused our credentials (HTTP 401)"

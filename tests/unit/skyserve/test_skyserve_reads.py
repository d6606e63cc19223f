"""Reading the API server's answers defensively, over real HTTP on loopback.

A trickling answer ends at the poll's timeout, an answer past ``body_size_limit`` (compressed or
not) and JSON nested too deeply are ``parse`` failures, and a service or replica whose label texts
cannot be written as UTF-8 is skipped and counted while the rest of the fleet is exported.
"""

import gzip
import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from collectors.skyserve.client import SkyServeClient
from collectors.skyserve.collector import SkyServeCollector
from collectors.skyserve.config import Connection
from collectors.skyserve.records import BAD_ENCODING
from exporter.errors import CollectorError, UpstreamParseError, UpstreamTimeout, UpstreamUnavailable
from exporter.series import Format, encode_families
from tests.unit.skyserve.helpers import context, load

REQUEST_ID = "4f9c3e2a-8f1d-4c57-9a51-2d6ad7c1b0e7"
CLUSTERS_REQUEST_ID = "9d2b7c4e-5a1f-4e3b-8c6d-7f0a1b2c3d4e"
SERVER_HEADERS = {"X-SkyPilot-API-Version": "62", "X-SkyPilot-Version": "0.14.1"}
DEEP = "[" * 100_000 + "]" * 100_000
LONE = "\ud800"  # a lone surrogate: JSON's "\ud800" escape decodes to it, UTF-8 cannot hold it

Handler = Callable[[Request], Response]


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """16 MiB of valid JSON that travels as about 16 KiB."""
    return gzip.compress(b"[" + b"0," * (8 * 2**20) + b"0]", compresslevel=9)


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Handler:
    text = body if isinstance(body, str) else json.dumps(body)
    return lambda _: Response(text, status=status, content_type="application/json", headers=headers)


def _trickle(status: int = 200, every: float = 1.0) -> Handler:
    """Headers at once, then a space ``every`` seconds: each read is quick, the whole answer is not."""

    def spaces() -> Iterator[bytes]:
        for _ in range(30):
            yield b" "
            time.sleep(every)

    return lambda _: Response(spaces(), status=status, content_type="application/json")


def _payload(return_value: Any) -> dict[str, Any]:
    text = return_value if isinstance(return_value, str) else json.dumps(return_value)
    return {"request_id": REQUEST_ID, "status": "SUCCEEDED", "return_value": text, "error": None}


def _api(
    server: HTTPServer,
    get: Handler | None = None,
    *,
    health: Handler | None = None,
    submit: Handler | None = None,
) -> str:
    """Serve the calls of a poll (``get`` answers serve.status's /api/get); returns the endpoint."""
    ok_health = _json(load("api_health.json"), headers=SERVER_HEADERS)
    ok_submit = _json(None, headers={"X-Skypilot-Request-ID": REQUEST_ID})
    ok_get = _json(load("api_get_serve_status.json"))
    server.expect_request("/api/health").respond_with_handler(health or ok_health)
    server.expect_request("/serve/status", method="POST").respond_with_handler(submit or ok_submit)
    clusters_submit = _json(None, headers={"X-Skypilot-Request-ID": CLUSTERS_REQUEST_ID})
    server.expect_request("/status", method="POST").respond_with_handler(clusters_submit)
    server.expect_request("/api/get", query_string={"request_id": CLUSTERS_REQUEST_ID}).respond_with_handler(
        _json(load("api_get_status_controllers.json"))
    )
    server.expect_request("/api/get").respond_with_handler(get or ok_get)
    return server.url_for("").rstrip("/")


def _client(endpoint: str, timeout: float = 10.0, **kwargs: Any) -> SkyServeClient:
    return SkyServeClient(requests.Session(), Connection(base_url=endpoint), timeout, **kwargs)


def test_the_recorded_answer_still_reads_within_a_cap_that_fits_it(server: HTTPServer) -> None:
    result = _client(_api(server), body_size_limit=64 * 1024).fetch()
    assert len(result.services) == 4
    assert result.upstream == {"version": "0.14.1", "api_version": "62"}


@pytest.mark.parametrize(
    ("where", "status"),
    [("get", 200), ("submit", 502)],  # the services themselves; an error answer read for its detail
)
def test_a_trickling_answer_ends_at_the_timeout(server: HTTPServer, where: str, status: int) -> None:
    endpoint = _api(server, **{where: _trickle(status)})
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        _client(endpoint, timeout=2.0).fetch()
    # 30 bytes at one a second would take 30 s; the budget is 2 s.
    assert time.monotonic() - started < 2.0 + 3.0


def test_no_read_waits_past_the_deadline(server: HTTPServer) -> None:
    # A space every 3.5 s, just inside the 4 s socket timeout the request was sent with: the read
    # after the second space must wait only for what is left of the budget (until 4 s), not for
    # the third space (at 7 s).
    endpoint = _api(server, get=_trickle(every=3.5))
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        _client(endpoint, timeout=4.0).fetch()
    assert time.monotonic() - started < 4.0 + 1.5


def test_an_answer_past_body_size_limit_is_a_parse_error(server: HTTPServer) -> None:
    with pytest.raises(UpstreamParseError) as raised:
        _client(_api(server), body_size_limit=1024).fetch()
    assert "body_size_limit (1KiB)" in str(raised.value)


def test_an_endless_answer_without_content_length_is_cut_at_the_limit(server: HTTPServer) -> None:
    def endless(_: Request) -> Response:
        # 1 GiB in 1 MiB pieces, its length not announced (chunked).
        return Response((b" " * 2**20 for _ in range(1024)), content_type="application/json")

    started = time.monotonic()
    with pytest.raises(UpstreamParseError, match="body_size_limit"):
        _client(_api(server, get=endless), body_size_limit=4 * 2**20).fetch()
    assert time.monotonic() - started < 5.0


def test_a_gzip_bomb_is_cut_at_the_limit_after_decompression(server: HTTPServer, gzip_bomb: bytes) -> None:
    def bomb(_: Request) -> Response:
        return Response(gzip_bomb, content_type="application/json", headers={"Content-Encoding": "gzip"})

    assert len(gzip_bomb) < 2**20
    with pytest.raises(UpstreamParseError, match=r"body_size_limit \(1MiB\)"):
        _client(_api(server, get=bomb), body_size_limit=2**20).fetch()


def test_body_size_limit_is_taken_from_the_config_section(server: HTTPServer) -> None:
    endpoint = _api(server)
    collector = SkyServeCollector.from_config({"endpoint": endpoint, "body_size_limit": "1KiB"}, context())
    with pytest.raises(UpstreamParseError, match=r"body_size_limit \(1KiB\)"):
        collector.fetch()
    roomy = SkyServeCollector.from_config({"endpoint": endpoint, "body_size_limit": "1MiB"}, context())
    assert len(roomy.fetch().fleet.services) == 3


@pytest.mark.parametrize(
    "setup",
    [
        {"health": _json(DEEP)},
        {"get": _json(DEEP)},
        {"get": _json(_payload(DEEP))},  # the JSON string inside the payload
    ],
    ids=["health", "get", "return_value"],
)
def test_json_nested_too_deeply_is_a_parse_error(server: HTTPServer, setup: dict[str, Handler]) -> None:
    with pytest.raises(UpstreamParseError) as raised:
        _client(_api(server, **setup)).fetch()
    assert "nested too deeply" in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ({"get": _json(DEEP, status=500)}, UpstreamUnavailable),  # read for a SkyPilot error payload
        ({"submit": _json(DEEP, status=400)}, CollectorError),  # read for its detail
    ],
    ids=["500 payload", "400 detail"],
)
def test_deep_json_in_an_error_answer_keeps_the_error_class(
    server: HTTPServer, setup: dict[str, Handler], error: type[CollectorError]
) -> None:
    with pytest.raises(error) as raised:
        _client(_api(server, **setup)).fetch()
    assert type(raised.value) is error


def test_an_error_message_with_a_lone_surrogate_can_still_be_written(server: HTTPServer) -> None:
    failed = {
        "request_id": REQUEST_ID,
        "status": "FAILED",
        "return_value": "null",
        "error": json.dumps({"type": "RuntimeError", "message": f"controller {LONE} gone"}),
    }
    with pytest.raises(CollectorError) as raised:
        _client(_api(server, get=_json({"detail": failed}, status=500))).fetch()
    assert "RuntimeError: controller" in str(raised.value)
    str(raised.value).encode("utf-8")  # would raise UnicodeEncodeError with the surrogate kept


def test_an_unencodable_version_is_left_out_of_the_upstream_info(server: HTTPServer) -> None:
    health = _json({"status": "healthy", "version": f"0.14{LONE}", "api_version": 62})
    assert _client(_api(server, health=health)).fetch().upstream == {"api_version": "62"}


def _replica(replica_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "replica_id": replica_id,
        "status": "READY",
        "version": 1,
        "endpoint": f"http://10.0.0.{replica_id}:8080",
        "is_spot": False,
        "launched_at": 1_795_826_209,
        "cloud": "AWS",
        "region": "us-east-2",
        "infra": "AWS (us-east-2a)",
        "resources_str_full": "1x(gpus=L4:1, cpus=4, mem=16, g6.xlarge, disk=256)",
        **changes,
    }


def _service(name: str, replicas: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "status": "READY",
        "endpoint": "http://44.201.12.9:30001",
        "load_balancing_policy": "least_load",
        "tls_encrypted": False,
        "replica_info": replicas,
        **changes,
    }


def test_a_record_that_cannot_be_encoded_is_skipped_and_the_rest_exported(server: HTTPServer) -> None:
    services = [
        _service("good-svc", [_replica(1), _replica(2, cloud=f"AWS{LONE}"), _replica(3, status=f"R{LONE}")]),
        _service(f"lone-{LONE}", [_replica(1)]),
        _service("bad-endpoint", [_replica(1)], endpoint=f"http://{LONE}:1"),
        _service("other-svc", [_replica(1), _replica(2, endpoint=f"http://{LONE}:8080")]),
    ]
    # json.dumps escapes the surrogate as \ud800, as a server in Python would send it.
    endpoint = _api(server, get=_json(_payload(services)))
    collector = SkyServeCollector.from_config({"endpoint": endpoint, "pools": False}, context())
    build = collector.build(collector.fetch(), 1_795_830_000.0)

    assert build.skipped == {BAD_ENCODING: 5}
    text = encode_families(Format.TEXT, build.families).decode("utf-8")
    exported = {family.name: family.samples for family in text_string_to_metric_families(text)}
    assert [s.labels["service_name"] for s in exported["skyserve_service_info"]] == ["good-svc", "other-svc"]
    replicas = [(s.labels["service_name"], s.labels["replica_id"]) for s in exported["skyserve_replica_info"]]
    assert replicas == [("good-svc", "1"), ("other-svc", "1")]
    for fmt in Format:
        text = encode_families(fmt, build.families).decode("utf-8")
        assert 'service_name="good-svc"' in text and 'service_name="other-svc"' in text
        assert "lone-" not in text and "bad-endpoint" not in text

"""The real ``kubernetes`` client against a loopback API server (pytest-httpserver) serving list JSON,
and client and urllib3 failures mapped onto the exporter's error classes."""

import json
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException
from pytest_httpserver import HTTPServer
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from werkzeug.wrappers import Request, Response

from collectors.kubernetes.client import (
    MAX_LIST_RESTARTS,
    KubernetesClient,
    ListQuery,
    Target,
    api_error,
    new_api_client,
    resolve_targets,
    transport_error,
)
from collectors.kubernetes.config import KubernetesConfig
from exporter.errors import (
    CollectorError,
    ErrorKind,
    UpstreamAuthError,
    UpstreamParseError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.unit.kubernetes.fixtures import gke_node, node, pod, pod_list, status, write_kubeconfig

SELECTOR = "app.kubernetes.io/component=inference,!skypilot-cluster-name"

Handler = Callable[[Request], Response]


def _json(body: Any, code: int = 200) -> Response:
    return Response(
        body if isinstance(body, str) else json.dumps(body), status=code, mimetype="application/json"
    )


class Paged:
    """Serves ``items`` in pages of ``limit`` behind opaque continue tokens, recording each request."""

    def __init__(self, items: list[Any], kind: str = "PodList") -> None:
        self.items = items
        self.kind = kind
        self.requests: list[dict[str, str]] = []
        self.expire: set[str] = set()  # tokens answered 410 (once each)

    def __call__(self, request: Request) -> Response:
        args = dict(request.args)
        self.requests.append({**args, "authorization": request.headers.get("Authorization", "")})
        token = args.get("continue", "")
        if token in self.expire:
            self.expire.discard(token)
            return _json(status(410, "Expired", "The provided continue parameter is too old"), 410)
        start = int(token.removeprefix("page-")) if token else 0
        limit = int(args.get("limit", "0")) or len(self.items)
        end = start + limit
        following = f"page-{end}" if end < len(self.items) else None
        return _json(pod_list(self.items[start:end], following, self.kind))


def _client(
    tmp_path: Path,
    servers: Mapping[str, str],
    *,
    timeout: float = 5.0,
    namespaces: tuple[str, ...] = (),
    page_size: int = 2,
    factory: Callable[[Target, Mapping[str, str]], ApiClient] = new_api_client,
) -> KubernetesClient:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", servers)
    config = KubernetesConfig(kubeconfig=kubeconfig, contexts=tuple(servers))
    targets = resolve_targets(config, {})
    query = ListQuery(namespaces, SELECTOR, page_size)
    return KubernetesClient(targets, query, timeout, {}, client_factory=factory)


def _serve(httpserver: HTTPServer, path: str, handler: Handler) -> None:
    httpserver.expect_request(path).respond_with_handler(handler)


def _base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("").rstrip("/")


def test_lists_every_page_with_selector_limit_and_token(httpserver: HTTPServer, tmp_path: Path) -> None:
    pods = Paged([pod(f"p{i}", node=f"n{i % 2}") for i in range(5)])
    nodes = Paged([node("n0"), node("unrelated"), node("n1")], kind="NodeList")
    _serve(httpserver, "/api/v1/pods", pods)
    _serve(httpserver, "/api/v1/nodes", nodes)
    result = _client(tmp_path, {"prod": _base(httpserver)}).fetch()
    (listing,) = result.listings
    assert listing.context == "prod"
    assert [p["metadata"]["name"] for p in listing.pods] == ["p0", "p1", "p2", "p3", "p4"]
    assert [n["metadata"]["name"] for n in listing.nodes] == ["n0", "n1"]  # only nodes our pods run on
    assert [r.get("continue") for r in pods.requests] == [None, "page-2", "page-4"]
    assert {(r["labelSelector"], r["limit"], r["authorization"]) for r in pods.requests} == {
        (SELECTOR, "2", "Bearer t0ken")
    }
    assert "labelSelector" not in nodes.requests[0]
    assert (result.pages, result.restarts) == (5, 0)


def test_objects_are_cut_down_to_what_the_collector_reads(httpserver: HTTPServer, tmp_path: Path) -> None:
    raw = pod()
    raw["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    raw["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{...}"}
    raw["spec"]["containers"][0]["env"] = [{"name": "SECRET_TOKEN", "value": "hunter2"}]
    _serve(httpserver, "/api/v1/pods", Paged([raw]))
    _serve(httpserver, "/api/v1/nodes", Paged([gke_node()], kind="NodeList"))
    (listing,) = _client(tmp_path, {"prod": _base(httpserver)}).fetch().listings
    kept = json.dumps(listing.pods[0])
    assert "managedFields" not in kept and "last-applied" not in kept and "hunter2" not in kept
    assert listing.pods[0]["spec"]["containers"] == [{"resources": raw["spec"]["containers"][0]["resources"]}]
    assert listing.pods[0]["status"] == raw["status"]


def test_an_expired_continue_token_restarts_the_list(httpserver: HTTPServer, tmp_path: Path) -> None:
    pods = Paged([pod(f"p{i}", node="") for i in range(5)])
    pods.expire.add("page-4")
    _serve(httpserver, "/api/v1/pods", pods)
    result = _client(tmp_path, {"prod": _base(httpserver)}).fetch()
    assert [p["metadata"]["name"] for p in result.listings[0].pods] == ["p0", "p1", "p2", "p3", "p4"]
    assert [r.get("continue") for r in pods.requests] == [None, "page-2", "page-4", None, "page-2", "page-4"]
    assert result.restarts == 1


def test_a_list_that_keeps_expiring_fails_as_unavailable(httpserver: HTTPServer, tmp_path: Path) -> None:
    def always_expired(request: Request) -> Response:
        if request.args.get("continue"):
            return _json(status(410, "Expired", "too old"), 410)
        return _json(pod_list([pod("p0")], "page-1"))

    _serve(httpserver, "/api/v1/pods", always_expired)
    with pytest.raises(UpstreamUnavailable, match="expired"):
        _client(tmp_path, {"prod": _base(httpserver)}).fetch()
    assert len(httpserver.log) == 2 * (MAX_LIST_RESTARTS + 1)


@pytest.mark.parametrize(("code", "reason"), [(401, "Unauthorized"), (403, "Forbidden")])
def test_refused_credentials_are_auth_errors(
    httpserver: HTTPServer, tmp_path: Path, code: int, reason: str
) -> None:
    message = 'pods is forbidden: User "system:serviceaccount:monitoring:x" cannot list resource "pods"'
    _serve(httpserver, "/api/v1/pods", lambda _: _json(status(code, reason, message), code))
    made: list[str] = []

    def factory(target: Target, environ: Mapping[str, str]) -> ApiClient:
        made.append(target.context)
        return new_api_client(target, environ)

    client = _client(tmp_path, {"prod": _base(httpserver)}, factory=factory)
    for _ in range(2):
        with pytest.raises(UpstreamAuthError) as caught:
            client.fetch()
        assert caught.value.kind is ErrorKind.AUTH
        assert f"HTTP {code}" in str(caught.value) and "cannot list resource" in str(caught.value)
        assert "t0ken" not in str(caught.value)
    assert made == ["prod", "prod"]  # credentials are loaded again after a refusal


@pytest.mark.parametrize(
    ("code", "body", "error"),
    [
        (500, status(500, "InternalError", "etcdserver: request timed out"), UpstreamUnavailable),
        (503, "upstream connect error", UpstreamUnavailable),
        (429, status(429, "TooManyRequests", "slow down"), UpstreamUnavailable),
        (404, status(404, "NotFound", "the server could not find the requested resource"), CollectorError),
        (200, '{"kind": "PodList", "items": [{"metad', UpstreamParseError),
        (200, '{"kind": "Status"}', UpstreamParseError),
        (200, "<html>login</html>", UpstreamParseError),
    ],
)
def test_other_answers_are_classified(
    httpserver: HTTPServer, tmp_path: Path, code: int, body: str, error: type[CollectorError]
) -> None:
    _serve(httpserver, "/api/v1/pods", lambda _: _json(body, code))
    with pytest.raises(error) as caught:
        _client(tmp_path, {"prod": _base(httpserver)}).fetch()
    assert type(caught.value) is error
    assert "context prod: list pods" in str(caught.value)


def test_an_empty_list_with_null_items_is_fine(httpserver: HTTPServer, tmp_path: Path) -> None:
    _serve(httpserver, "/api/v1/pods", lambda _: _json({"kind": "PodList", "metadata": {}, "items": None}))
    (listing,) = _client(tmp_path, {"prod": _base(httpserver)}).fetch().listings
    assert listing.pods == () and listing.nodes == ()
    assert len(httpserver.log) == 1  # no pod is scheduled, so no node is listed


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_api_server_fails_fast_as_unavailable(tmp_path: Path) -> None:
    client = _client(tmp_path, {"prod": f"http://127.0.0.1:{_closed_port()}"}, timeout=5.0)
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match="cannot connect"):
        client.fetch()
    assert time.monotonic() - started < 2.0  # no urllib3 retries


def test_a_hanging_api_server_times_out_within_the_budget(httpserver: HTTPServer, tmp_path: Path) -> None:
    def slow(_: Request) -> Response:
        time.sleep(1.5)
        return _json(pod_list([]))

    _serve(httpserver, "/api/v1/pods", slow)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        _client(tmp_path, {"prod": _base(httpserver)}, timeout=0.4).fetch()
    assert time.monotonic() - started < 1.4


def test_namespaces_are_listed_one_by_one(httpserver: HTTPServer, tmp_path: Path) -> None:
    serving, kserve = Paged([pod("a", node="")]), Paged([pod("b", node="", namespace="kserve")])
    _serve(httpserver, "/api/v1/namespaces/serving/pods", serving)
    _serve(httpserver, "/api/v1/namespaces/kserve/pods", kserve)
    client = _client(tmp_path, {"prod": _base(httpserver)}, namespaces=("serving", "kserve"))
    (listing,) = client.fetch().listings
    assert [p["metadata"]["name"] for p in listing.pods] == ["a", "b"]
    assert len(serving.requests) == len(kserve.requests) == 1


def test_every_context_is_listed_with_its_own_server(httpserver: HTTPServer, tmp_path: Path) -> None:
    _serve(httpserver, "/east/api/v1/pods", Paged([pod("e", node="")]))
    _serve(httpserver, "/west/api/v1/pods", Paged([pod("w", node="")]))
    servers = {"east": f"{_base(httpserver)}/east", "west": f"{_base(httpserver)}/west"}
    result = _client(tmp_path, servers).fetch()
    assert [(li.context, [p["metadata"]["name"] for p in li.pods]) for li in result.listings] == [
        ("east", ["e"]),
        ("west", ["w"]),
    ]


# --- client and urllib3 failures map onto the exporter's error classes ---


def _refused() -> NewConnectionError:
    return NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (_refused(), ErrorKind.UNAVAILABLE),
        (MaxRetryError(None, "/api/v1/pods", _refused()), ErrorKind.UNAVAILABLE),  # type: ignore[arg-type]
        (ReadTimeoutError(None, "/api/v1/pods", "read timed out"), ErrorKind.TIMEOUT),  # type: ignore[arg-type]
        (MaxRetryError(None, "/", ReadTimeoutError(None, "/", "x")), ErrorKind.TIMEOUT),  # type: ignore[arg-type]
        (ConnectTimeoutError("connect timed out"), ErrorKind.TIMEOUT),
        (ProtocolError("Connection aborted.", ConnectionResetError()), ErrorKind.UNAVAILABLE),
    ],
)
def test_transport_errors(exc: HTTPError, kind: ErrorKind) -> None:
    assert transport_error(exc, "context c: list pods").kind is kind


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, ErrorKind.AUTH), (403, ErrorKind.AUTH), (0, ErrorKind.UNAVAILABLE), (502, ErrorKind.UNAVAILABLE),
     (400, ErrorKind.OTHER), (404, ErrorKind.OTHER)],
)  # fmt: skip
def test_http_errors(status: int, kind: ErrorKind) -> None:
    assert api_error(ApiException(status=status, reason="X"), "context c").kind is kind


def test_messages_keep_the_servers_explanation_but_no_tokens() -> None:
    exc = ApiException(status=403, reason="Forbidden")
    exc.body = '{"kind": "Status", "message": "pods is forbidden for Bearer abc.def"}'
    message = str(api_error(exc, "context c: list pods"))
    assert message.startswith("context c: list pods: HTTP 403 Forbidden: pods is forbidden")
    assert "abc.def" not in message

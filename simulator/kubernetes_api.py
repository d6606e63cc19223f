"""A Kubernetes API server subset: list pods (all or per namespace) and nodes, with real pagination.

Served per cluster under ``/clusters/<context>`` (the kubeconfig's server URL carries the prefix),
the first cluster also at the root. Lists honour ``labelSelector``, ``limit`` and ``continue``
the way kube-apiserver does: every page comes from the snapshot the first page was cut from, the
token names it, and a token whose snapshot is gone is answered ``410 Expired``. With a token
configured, requests without ``Authorization: Bearer <token>`` get ``401``.
"""

import base64
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from werkzeug.wrappers import Request, Response

from simulator.counter import RequestCounter
from simulator.faults import Fault, FaultSwitch
from simulator.http_util import json_response, wsgi_request
from simulator.kubernetes_cluster import ClusterSnapshot, KubeFleet, WireObject
from simulator.kubernetes_selector import parse_selector
from simulator.kubernetes_wire import list_body, status_body

CLUSTER_PREFIX: Final = "/clusters/"
_EXPIRED: Final = (
    "The provided continue parameter is too old to display a consistent list result. You can start a "
    "new list without the continue parameter, or use the continue token in this response to retrieve "
    "the remainder of the results."
)
_VERSION: Final = {"major": "1", "minor": "31", "gitVersion": "v1.31.2", "platform": "linux/amd64"}


@dataclass(frozen=True)
class _ListRequest:
    context: str
    resource: str  # pods | nodes
    namespace: str  # "" for all namespaces (and for nodes)
    selector: str
    limit: int
    token: str


@dataclass(frozen=True)
class _Token:
    resource_version: int
    start: int
    query: str  # resource, namespace and selector: a token is only good for the same list


class KubernetesApiApp:
    """A WSGI app over a ``KubeFleet``; faults and counts are shared with the Simulator."""

    def __init__(
        self, fleet: KubeFleet, faults: FaultSwitch, counter: RequestCounter, token: str | None = None
    ) -> None:
        self._fleet = fleet
        self._faults = faults
        self._counter = counter
        self._token = token

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = wsgi_request(environ)
        self._counter.hit(request.path)
        fault = self._faults.hold()
        response = self._respond(request, fault)
        response.headers["Audit-Id"] = str(uuid.uuid4())
        return response(environ, start_response)

    def _respond(self, request: Request, fault: Fault) -> Response:
        if self._faults.closed.is_set():
            return _status(503, "ServiceUnavailable", "the server is shutting down")
        if fault == Fault.AUTH or (
            self._token and request.headers.get("Authorization") != f"Bearer {self._token}"
        ):
            return _status(401, "Unauthorized", "Unauthorized")
        if fault == Fault.ERROR_500:
            return _status(500, "InternalError", "Internal error occurred: etcdserver: request timed out")
        if fault == Fault.GARBAGE:
            return Response(b'{"kind": "PodList", "items": [{"metad', status=200, mimetype="application/json")
        if request.method != "GET":
            return _status(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        return self._route(request)

    def _route(self, request: Request) -> Response:
        context, path = self._split_context(request.path)
        if context is None:
            return _status(404, "NotFound", "the server could not find the requested resource")
        if path == "/version":
            return json_response(200, _VERSION)
        parts = path.strip("/").split("/")
        if parts == ["api", "v1", "pods"]:
            return self._list(request, context, "pods", "")
        if parts == ["api", "v1", "nodes"]:
            return self._list(request, context, "nodes", "")
        if len(parts) == 5 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
            return self._list(request, context, "pods", parts[3])
        return _status(404, "NotFound", "the server could not find the requested resource")

    def _split_context(self, path: str) -> tuple[str | None, str]:
        contexts = self._fleet.contexts
        if not path.startswith(CLUSTER_PREFIX):
            return (contexts[0] if contexts else None), path
        for context in contexts:
            prefix = f"{CLUSTER_PREFIX}{context}"
            if path == prefix or path.startswith(prefix + "/"):
                return context, path[len(prefix) :] or "/"
        return None, path

    def _list(self, request: Request, context: str, resource: str, namespace: str) -> Response:
        args = request.args
        try:
            limit = int(args.get("limit", "0") or "0")
            wanted = parse_selector(args.get("labelSelector", ""))
        except ValueError as exc:
            return _status(400, "BadRequest", str(exc))
        query = _ListRequest(
            context, resource, namespace, args.get("labelSelector", ""), limit, args.get("continue", "")
        )
        found = self._snapshot(query)
        if isinstance(found, Response):
            return found
        snapshot, start = found
        objects = snapshot.pods if resource == "pods" else snapshot.nodes
        matching = [o for o in objects if (not namespace or o.namespace == namespace) and wanted(o.labels)]
        return self._page(query, snapshot, matching, start)

    def _snapshot(self, query: _ListRequest) -> tuple[ClusterSnapshot, int] | Response:
        if not query.token:
            snapshot = self._fleet.snapshot(query.context)
            if snapshot is None:
                return _status(503, "ServiceUnavailable", "no snapshot yet")
            return snapshot, 0
        token = _decode_token(query.token)
        if token is None or token.query != _query_key(query):
            return _status(400, "BadRequest", "continue key is not valid")
        snapshot = self._fleet.snapshot(query.context, token.resource_version)
        if snapshot is None:
            return _status(410, "Expired", _EXPIRED)
        return snapshot, token.start

    def _page(
        self, query: _ListRequest, snapshot: ClusterSnapshot, matching: list[WireObject], start: int
    ) -> Response:
        end = len(matching) if query.limit <= 0 else min(len(matching), start + query.limit)
        token = None
        if end < len(matching):
            token = _encode_token(_Token(snapshot.resource_version, end, _query_key(query)))
        kind = "PodList" if query.resource == "pods" else "NodeList"
        items = [o.body for o in matching[start:end]]
        body = list_body(kind, snapshot.resource_version, items, token, len(matching) - end)
        return Response(body, status=200, mimetype="application/json")


def _query_key(query: _ListRequest) -> str:
    return f"{query.resource}/{query.namespace}/{query.selector}"


def _encode_token(token: _Token) -> str:
    raw = json.dumps(
        {"v": "meta.k8s.io/v1", "rv": token.resource_version, "start": token.start, "q": token.query}
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_token(text: str) -> _Token | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return _Token(int(data["rv"]), int(data["start"]), str(data["q"]))
    except (ValueError, KeyError, TypeError):
        return None


def _status(code: int, reason: str, message: str) -> Response:
    return json_response(code, status_body(code, reason, message))

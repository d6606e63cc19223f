"""The simulated SkyPilot API server: ``/api/health``, ``POST /serve/status``, ``/api/get``.

Behaviour follows skypilot 0.14.1 ``sky/server/server.py``: every response carries a fresh
``X-Skypilot-Request-ID`` (RequestIDMiddleware) and the server's version headers; ``/api/get``
long-polls until the request is done, answers 500 ``{"detail": payload}`` for a failed request
and 404 ``{"detail": "Request '<id>' not found"}`` for an unknown one.
"""

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from simulator import execution, hostile, wire
from simulator.auth import SERVICE_ACCOUNT, Gate
from simulator.counter import RequestCounter
from simulator.faults import Fault, FaultSwitch
from simulator.fleet import Fleet
from simulator.http_util import json_response, validation_error, wsgi_request
from simulator.requests_store import AmbiguousRequest, RequestStore, SimRequest, UnknownRequest

_ROUTES = {"/api/health": "GET", "/serve/status": "POST", "/api/get": "GET"}
_NETWORK_ERROR = "Failed to refresh services status due to network error."
# Cut short mid-document, as a proxy that drops the connection would leave it.
_GARBAGE = b'{"request_id": "c0ffee", "name": "sky.serve.status", "return_value": "[{\\"na'


@dataclass(frozen=True)
class ApiConfig:
    token: str | None = None
    request_delay: float = 0.0


def client_api_version(request: Request) -> int | None:
    try:
        return int(request.headers[wire.API_VERSION_HEADER])
    except (KeyError, ValueError):
        return None


def _stamp(response: Response) -> Response:
    response.headers.setdefault(wire.REQUEST_ID_HEADER, str(uuid.uuid4()))
    response.headers[wire.API_VERSION_HEADER] = str(wire.API_VERSION)
    response.headers[wire.VERSION_HEADER] = wire.VERSION
    return response


def _version_mismatch(request: Request) -> Response | None:
    version = client_api_version(request)
    if version is None or wire.VERSION_HEADER not in request.headers:
        return None
    if version >= wire.MIN_COMPATIBLE_API_VERSION:
        return None
    return json_response(400, wire.version_mismatch_body(request.headers[wire.VERSION_HEADER]))


def _service_names(body: dict[str, Any]) -> tuple[str, ...] | Response | None:
    names = body["service_names"]
    if names is None:
        return None
    if isinstance(names, str):
        return (names,)
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return tuple(names)
    return validation_error(
        "list_type", ["body", "service_names", "list[str]"], "Input should be a valid list", names
    )


def _parse_status_body(request: Request) -> tuple[str, ...] | Response | None:
    raw = request.get_data()
    if not raw:
        return validation_error("missing", ["body"], "Field required", None)
    try:
        body = json.loads(raw)
    except ValueError as exc:
        return json_response(
            422,
            {
                "detail": [
                    {
                        "type": "json_invalid",
                        "loc": ["body", 0],
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": str(exc).split(":")[0]},
                    }
                ]
            },
        )
    if not isinstance(body, dict):
        return validation_error(
            "model_attributes_type",
            ["body"],
            "Input should be a valid dictionary or object to extract fields from",
            body,
        )
    if "service_names" not in body:
        return validation_error("missing", ["body", "service_names"], "Field required", body)
    return _service_names(body)


def _user_id(request: Request, gate: Gate) -> str:
    if gate.token is not None:
        return SERVICE_ACCOUNT["id"]
    body = request.get_json(silent=True)
    env = body.get("env_vars") if isinstance(body, dict) else None
    user = env.get("SKYPILOT_USER_ID") if isinstance(env, dict) else None
    return user if isinstance(user, str) else wire.SERVER_USER_HASH


class ApiApp:
    """A WSGI app; the fleet, request table, faults and counter are shared with the Simulator."""

    def __init__(
        self,
        fleet: Fleet,
        faults: FaultSwitch,
        counter: RequestCounter,
        config: ApiConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fleet = fleet
        self._faults = faults
        self._counter = counter
        self._config = config
        self._clock = clock
        self._store = RequestStore(clock=clock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        response = self._respond(wsgi_request(environ))
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        self._counter.hit(request.path)
        fault = self._faults.hold()
        if self._faults.closed.is_set():
            return _stamp(self._shutting_down())
        return _stamp(self._dispatch(request, fault))

    @staticmethod
    def _shutting_down() -> Response:
        return json_response(503, {"detail": "Server is shutting down, please try again later."})

    def _dispatch(self, request: Request, fault: Fault) -> Response:
        method = _ROUTES.get(request.path)
        if method is None:
            return json_response(404, {"detail": "Not Found"})
        if request.method != method:
            return json_response(405, {"detail": "Method Not Allowed"})
        gate = Gate(self._config.token, refuse_all=fault == Fault.AUTH)
        if request.path == "/api/health":
            return self._health(request, gate)
        if not gate.admits(request):
            return gate.refusal(request)
        mismatch = _version_mismatch(request)
        if mismatch is not None:
            return mismatch
        if request.path == "/serve/status":
            return self._serve_status(request, gate)
        return self._api_get(request, fault)

    def _health(self, request: Request, gate: Gate) -> Response:
        if gate.admits(request):
            user = dict(SERVICE_ACCOUNT) if gate.token is not None else None
            return json_response(200, wire.health_body(user, needs_auth=False))
        # Unauthenticated: orchestrators (no version header) just see "healthy"; clients are told
        # to log in.
        if client_api_version(request) is None:
            return json_response(200, {"status": "healthy"})
        return json_response(200, wire.health_body(None, needs_auth=True))

    def _serve_status(self, request: Request, gate: Gate) -> Response:
        names = _parse_status_body(request)
        if isinstance(names, Response):
            return names
        now = self._clock()
        sim_request = SimRequest(
            request_id=str(uuid.uuid4()),
            created_at=now,
            ready_at=now + self._config.request_delay,
            service_names=names,
            user_id=_user_id(request, gate),
            pid=os.getpid(),
        )
        self._store.add(sim_request)
        return json_response(200, None, {wire.REQUEST_ID_HEADER: sim_request.request_id})

    def _find(self, request_id: str) -> SimRequest | Response:
        try:
            return self._store.find(request_id)
        except UnknownRequest:
            return json_response(404, {"detail": f"Request {request_id!r} not found"})
        except AmbiguousRequest:
            return json_response(
                400, {"detail": f"Multiple requests found for request ID prefix: {request_id}"}
            )

    def _api_get(self, request: Request, fault: Fault) -> Response:
        request_id = request.args.get("request_id")
        if request_id is None:
            return validation_error("missing", ["query", "request_id"], "Field required", None)
        found = self._find(request_id)
        if isinstance(found, Response):
            return found
        # Long-poll: the request "runs" until ready_at; stop() cuts the wait short.
        if self._faults.closed.wait(max(0.0, found.ready_at - self._clock())):
            return self._shutting_down()
        if fault == Fault.GARBAGE:
            return Response(_GARBAGE, status=200, mimetype="application/json")
        if fault == Fault.DEEP:
            return Response(hostile.deep_json(), status=200, mimetype="application/json")
        response = self._finished(request, found, fault)
        if fault == Fault.TRICKLE:
            delay, released = self._faults.pace()
            paced = hostile.trickle(response.get_data(), delay or hostile.TRICKLE_DEFAULT_INTERVAL, released)
            return Response(paced, status=response.status_code, mimetype="application/json")
        return response

    def _finished(self, request: Request, found: SimRequest, fault: Fault) -> Response:
        if fault == Fault.ERROR_500:
            outcome = execution.failed("RuntimeError", _NETWORK_ERROR, self._clock())
        else:
            outcome = self._store.finish(
                found.request_id, lambda: execution.run_status(self._fleet, found, self._clock())
            )
        return_value = outcome.return_value
        version = client_api_version(request)
        if outcome.status == "SUCCEEDED" and (
            version is None or version < wire.MIN_LAZY_REPLICA_HANDLE_API_VERSION
        ):
            return_value = execution.with_old_handles(return_value)
        if outcome.status == "SUCCEEDED" and fault == Fault.SURROGATE:
            return_value = hostile.with_lone_surrogate(return_value)
        body = execution.payload(found, outcome, return_value)
        if outcome.status == "FAILED":
            return json_response(500, {"detail": body})
        if fault == Fault.HUGE:
            huge = hostile.huge_json(body, hostile.HUGE_BODY_BYTES)
            return Response(huge, status=200, mimetype="application/json")
        return json_response(200, body)

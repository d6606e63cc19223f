"""The simulated SkyPilot API server: ``/api/health``, ``POST /serve/status``, ``POST /status``,
``POST /jobs/pool_status``, ``/api/get``.

Behaviour follows skypilot 0.14.1 ``sky/server/server.py``, whose middlewares run outermost first:
``RequestIDMiddleware`` gives every response a fresh ``X-Skypilot-Request-ID``; the auth middlewares
(``simulator.auth``) refuse before anything else looks at the request; ``APIVersionMiddleware``
checks the client's version headers and, only when the client sent both, answers with the server's
(on every status, a 400 for a client too old included); then the router. ``/api/get`` long-polls
until the request is done, answers 500 ``{"detail": payload}`` for a failed request and 404
``{"detail": "Request '<id>' not found"}`` for an unknown one. An exception a middleware raises
reaches Starlette's error handler outside them all: a bare 500 without even a request id.
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
from simulator.auth import AuthConfig, MalformedHeader, Passed
from simulator.controller import CONTROLLER_AGE_SECONDS, ClusterQuery, Controller, ControllerState
from simulator.counter import RequestCounter
from simulator.faults import Fault, FaultSwitch
from simulator.fleet import Fleet
from simulator.http_util import json_response, validation_error, wsgi_request
from simulator.pools import Pools
from simulator.requests_store import AmbiguousRequest, Outcome, RequestStore, SimRequest, UnknownRequest

_ROUTES = {
    "/api/health": "GET",
    "/serve/status": "POST",
    "/status": "POST",
    "/jobs/pool_status": "POST",
    "/api/get": "GET",
}
# sky/utils/common.py StatusRefreshMode; a StatusBody field pydantic validates as that enum.
_REFRESH_MODES = ("NONE", "AUTO", "FORCE")
# pydantic's lax bool: these strings (any case) and the integers 0 and 1.
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
_STATUS_FLAGS = ("all_users", "include_credentials", "summary_response", "include_handle")
# Cut short mid-document, as a proxy that drops the connection would leave it.
_GARBAGE = b'{"request_id": "c0ffee", "name": "sky.serve.status", "return_value": "[{\\"na'
_VERSIONS_ORIGIN = 'sky/server/versions.py", line 118, in _check_version_compatibility'
_BEARER_ORIGIN = 'sky/server/server.py", line 507, in dispatch'


@dataclass(frozen=True)
class ApiConfig:
    token: str | None = None
    request_delay: float = 0.0
    basic_auth: tuple[str, str] | None = None
    # False: an API server from before pools (0.10 and older), which answers /jobs/pool_status 404.
    pool_route: bool = True


class BadApiVersion(ValueError):
    """The real check's ValueError for an API version header that is not an integer."""


@dataclass(frozen=True)
class ClientVersion:
    api_version: int
    version: str


def client_version(request: Request) -> ClientVersion | None:
    """``versions.check_compatibility_at_server``: None unless the client sent both headers.

    BadApiVersion (the real check's ValueError) for an API version that is not an integer.
    """
    api_version = request.headers.get(wire.API_VERSION_HEADER)
    version = request.headers.get(wire.VERSION_HEADER)
    if api_version is None or version is None:
        return None
    try:
        return ClientVersion(int(api_version), version)
    except ValueError:
        raise BadApiVersion(
            f"Header {wire.API_VERSION_HEADER}: {api_version} is not a valid API version."
        ) from None


def _with_request_id(response: Response) -> Response:
    response.headers.setdefault(wire.REQUEST_ID_HEADER, str(uuid.uuid4()))
    return response


def _with_versions(response: Response) -> Response:
    response.headers[wire.API_VERSION_HEADER] = str(wire.API_VERSION)
    response.headers[wire.VERSION_HEADER] = wire.VERSION
    return response


def _server_error(exc: BaseException, origin: str) -> Response:
    return Response(wire.server_error_text(exc, origin), status=500, mimetype="text/plain")


def _service_names(body: dict[str, Any], key: str = "service_names") -> tuple[str, ...] | Response | None:
    names = body[key]
    if names is None:
        return None
    if isinstance(names, str):
        return (names,)
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return tuple(names)
    return validation_error("list_type", ["body", key, "list[str]"], "Input should be a valid list", names)


def _json_body(request: Request, required: bool) -> dict[str, Any] | Response:
    """The body as a JSON object, or FastAPI's 422; an empty body is ``{}`` unless ``required``."""
    raw = request.get_data()
    if not raw:
        return validation_error("missing", ["body"], "Field required", None) if required else {}
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
    return body


def _parse_status_body(request: Request, key: str = "service_names") -> tuple[str, ...] | Response | None:
    """``ServeStatusBody`` (``service_names``) or ``JobsPoolStatusBody`` (``pool_names``): required."""
    body = _json_body(request, required=True)
    if isinstance(body, Response):
        return body
    if key not in body:
        return validation_error("missing", ["body", key], "Field required", body)
    return _service_names(body, key)


def _lax_bool(value: Any, field: str) -> bool | Response:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    return validation_error("bool_parsing", ["body", field], "Input should be a valid boolean", value)


def _parse_cluster_query(request: Request) -> ClusterQuery | Response:
    """``StatusBody`` as pydantic reads it: every field optional, unknown ones ignored."""
    body = _json_body(request, required=False)
    if isinstance(body, Response):
        return body
    names = body.get("cluster_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        return validation_error("list_type", ["body", "cluster_names"], "Input should be a valid list", names)
    refresh = body.get("refresh", "NONE")
    if refresh not in _REFRESH_MODES:
        return validation_error(
            "enum", ["body", "refresh"], "Input should be 'NONE', 'AUTO' or 'FORCE'", refresh
        )
    flags: dict[str, bool] = {}
    for field in _STATUS_FLAGS:
        if field in body:
            flag = _lax_bool(body[field], field)
            if isinstance(flag, Response):
                return flag
            flags[field] = flag
    return ClusterQuery(cluster_names=None if names is None else tuple(names), refresh=refresh, **flags)


def _user_id(request: Request, caller: Passed) -> str:
    if caller.user is not None:
        return str(caller.user["id"])
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
        *,
        controller: Controller | None = None,
        jobs_controller: Controller | None = None,
        pools: Pools | None = None,
    ) -> None:
        """``controller``: the serve controller (default: UP, launched three days before the fleet);
        ``jobs_controller``: the jobs controller (default: none); ``pools``: what it keeps."""
        self._fleet = fleet
        self._controller = controller or Controller(
            ControllerState.UP, int(fleet.now) - CONTROLLER_AGE_SECONDS
        )
        self._jobs_controller = jobs_controller
        self._pools = pools
        self._faults = faults
        self._counter = counter
        self._config = config
        self._auth = AuthConfig(config.token, config.basic_auth)
        self._clock = clock
        self._store = RequestStore(clock=clock)

    @property
    def requests(self) -> tuple[SimRequest, ...]:
        """The submitted requests still in the table, oldest first."""
        return self._store.requests()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        response = self._respond(wsgi_request(environ))
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        self._counter.hit(request.path)
        fault = self._faults.hold()
        if self._faults.closed.is_set():
            return _with_request_id(self._shutting_down())
        try:
            return self._middlewares(request, fault)
        except MalformedHeader as exc:
            return _server_error(IndexError(str(exc)), _BEARER_ORIGIN)
        except BadApiVersion as exc:
            return _server_error(ValueError(str(exc)), _VERSIONS_ORIGIN)

    @staticmethod
    def _shutting_down() -> Response:
        return json_response(503, {"detail": "Server is shutting down, please try again later."})

    def _middlewares(self, request: Request, fault: Fault) -> Response:
        refuse_all = fault == Fault.AUTH
        caller = self._auth.check(request, refuse_all)
        if isinstance(caller, Response):
            return _with_request_id(caller)
        client = client_version(request)
        if client is None:
            return _with_request_id(self._route(request, fault, caller, None, refuse_all))
        if client.api_version < wire.MIN_COMPATIBLE_API_VERSION:
            refused = json_response(400, wire.version_mismatch_body(client.version))
            return _with_request_id(_with_versions(refused))
        response = self._route(request, fault, caller, client.api_version, refuse_all)
        return _with_request_id(_with_versions(response))

    def _route(
        self, request: Request, fault: Fault, caller: Passed, api_version: int | None, refuse_all: bool
    ) -> Response:
        method = _ROUTES.get(request.path)
        if method is None or (request.path == "/jobs/pool_status" and not self._config.pool_route):
            return json_response(404, {"detail": "Not Found"})
        if request.method != method:
            return json_response(405, {"detail": "Method Not Allowed"})
        if request.path == "/api/health":
            return self._health(caller, api_version, refuse_all)
        if request.path == "/serve/status":
            names = _parse_status_body(request)
            return names if isinstance(names, Response) else self._schedule(request, caller, names, None)
        if request.path == "/status":
            query = _parse_cluster_query(request)
            return query if isinstance(query, Response) else self._schedule(request, caller, None, query)
        if request.path == "/jobs/pool_status":
            names = _parse_status_body(request, "pool_names")
            if isinstance(names, Response):
                return names
            return self._schedule(request, caller, names, None, pools=True)
        return self._api_get(request, fault, api_version)

    def _health(self, caller: Passed, api_version: int | None, refuse_all: bool) -> Response:
        flags = {
            "basic_auth_enabled": self._auth.basic_auth is not None,
            "service_account_token_enabled": self._auth.token is not None,
        }
        if not (refuse_all or self._auth.anonymous(caller)):
            return json_response(200, wire.health_body(caller.user, needs_auth=False, **flags))
        # An anonymous caller behind the auth proxy: orchestrators (no version headers) just see
        # "healthy"; clients are told to log in.
        if api_version is None:
            return json_response(200, {"status": "healthy"})
        return json_response(200, wire.health_body(None, needs_auth=True, **flags))

    def _schedule(
        self,
        request: Request,
        caller: Passed,
        names: tuple[str, ...] | None,
        clusters: ClusterQuery | None,
        *,
        pools: bool = False,
    ) -> Response:
        """Queue a serve.status (``clusters`` None), jobs.pool_status (``pools``) or status request;
        the answer is its id."""
        now = self._clock()
        sim_request = SimRequest(
            request_id=str(uuid.uuid4()),
            created_at=now,
            ready_at=now + self._config.request_delay,
            service_names=names,
            user_id=_user_id(request, caller),
            pid=os.getpid(),
            clusters=clusters,
            pools=pools,
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

    def _api_get(self, request: Request, fault: Fault, api_version: int | None) -> Response:
        request_id = request.args.get("request_id")
        if request_id is None:
            return validation_error("missing", ["query", "request_id"], "Field required", None)
        found = self._find(request_id)
        if isinstance(found, Response):
            return found
        # Long-poll: the request "runs" until ready_at; stop() cuts the wait short.
        if self._faults.closed.wait(max(0.0, found.ready_at - self._clock())):
            return self._shutting_down()
        if found.clusters is not None:
            return self._finished_clusters(found, fault, api_version)
        if fault == Fault.GARBAGE:
            return Response(_GARBAGE, status=200, mimetype="application/json")
        if fault == Fault.DEEP:
            return Response(hostile.deep_json(), status=200, mimetype="application/json")
        response = self._finished(found, fault, api_version)
        if fault == Fault.TRICKLE:
            delay, released = self._faults.pace()
            paced = hostile.trickle(response.get_data(), delay or hostile.TRICKLE_DEFAULT_INTERVAL, released)
            return Response(paced, status=response.status_code, mimetype="application/json")
        return response

    def _finished_clusters(self, found: SimRequest, fault: Fault, api_version: int | None) -> Response:
        if fault == Fault.ERROR_500:
            outcome = execution.failed("RuntimeError", execution.NETWORK_ERROR, self._clock())
        else:
            controllers = [c for c in (self._controller, self._jobs_controller) if c is not None]
            outcome = self._store.finish(
                found.request_id,
                lambda: execution.run_cluster_status(controllers, found, self._clock()),
            )
        return_value = outcome.return_value
        if outcome.status == "SUCCEEDED":
            return_value = execution.for_client(return_value, api_version)
        body = execution.payload(found, outcome, return_value)
        if outcome.status == "FAILED":
            return json_response(500, {"detail": body})
        return json_response(200, body)

    def _run(self, found: SimRequest, offline: bool) -> Outcome:
        if not found.pools:
            state = self._controller.state
            return execution.run_status(self._fleet, state, found, self._clock(), offline)
        jobs = self._jobs_controller.state if self._jobs_controller is not None else ControllerState.ABSENT
        pools = self._pools.records(self._fleet.now) if self._pools is not None else []
        return execution.run_pool_status(pools, jobs, found, self._clock(), offline)

    def _finished(self, found: SimRequest, fault: Fault, api_version: int | None) -> Response:
        if fault == Fault.ERROR_500:
            outcome = execution.failed("RuntimeError", execution.NETWORK_ERROR, self._clock())
        else:
            outcome = self._store.finish(found.request_id, lambda: self._run(found, fault == Fault.OFFLINE))
        return_value = outcome.return_value
        if outcome.status == "SUCCEEDED" and (
            api_version is None or api_version < wire.MIN_LAZY_REPLICA_HANDLE_API_VERSION
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

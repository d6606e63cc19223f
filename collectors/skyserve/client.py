"""REST client for the SkyPilot API server: health, then ``serve.status``, ``status`` for the
controllers and ``jobs.pool_status``.

Each request is submitted, then long-polled through ``/api/get``. Every call is submitted before any
answer is collected: the server runs each request on its own worker from the moment it is submitted,
so a poll costs the slowest call rather than the sum of them. ``serve.status`` is submitted first
and collected first, with the whole of what is left of the poll's budget; the others are collected
after it, each within a share of what is then left, and each of their submits may take only
``SUBMIT_SHARE`` of what is left, so that a secondary call that hangs cannot starve the services.

``status`` for the serve controller cluster is asked on every poll: the controller's state is
exported, and it decides what a failed ``serve.status`` means, as in ``sky serve status``
(``sky/client/cli/command.py`` ``_handle_services_request``): a ``RuntimeError`` while there is no
controller, or the latest one is STOPPED, means no services. An API server without internet fails
every ``serve.status`` so (``sky/serve/server/impl.py`` ``status`` runs
``backend_utils.check_network_connection`` first), and would otherwise never be up.

Every failure leaves as one of the exceptions in ``exporter.errors``; messages name the server by its
URL with credentials stripped and never include tokens, passwords or upstream stack traces. Every
answer is read in full, error answers too, within the poll's deadline and ``body_size_limit``.

The wire format it speaks (0.14.x: header names, the /api/get payload, its error JSON) is verified
against SkyPilot's source: ``sky/server/constants.py`` (version headers), ``sky/server/common.py``
(``X-Skypilot-Request-ID``), ``sky/server/server.py`` (``/api/get``: 404 for an unknown id, 500 with
``{"detail": payload}`` when the request failed, 503 when it should be retried),
``sky/server/requests/requests.py`` (``encode()``: ``return_value`` and ``error`` are JSON strings) and
``sky/exceptions.py`` (``serialize_exception``: ``type``, ``message``, ``args``, ``attributes``,
``stacktrace``). Pickled fields (``entrypoint``, ``request_body``, a replica's ``handle``) are never
decoded. A refusal (401) carries the server's reason, which is kept: ``{"detail": "..."}`` from the
bearer-token middleware, a bare JSON string from the basic-auth one (``sky/server/server.py``
``_bearer_auth_401_response``, ``_basic_auth_401_response``).
"""

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from collectors.skyserve.config import Connection
from collectors.skyserve.records import JOBS_CONTROLLER_PREFIX, SERVE_CONTROLLER_PREFIX
from collectors.skyserve.wire import (
    ServiceSource,
    ServiceWire,
    decode_payload_fields,
    decode_services,
    split_services,
)
from exporter.deadline import Deadline
from exporter.errors import (
    CollectorError,
    UpstreamAuthError,
    UpstreamParseError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from exporter.redact import redact_text
from exporter.upstream import DEFAULT_BODY_SIZE_LIMIT, encodable, loads_json, read_body

REQUEST_ID_HEADER = "X-Skypilot-Request-ID"
LEGACY_REQUEST_ID_HEADER = "X-Request-ID"  # servers before 0.10
API_VERSION_HEADER = "X-SkyPilot-API-Version"
VERSION_HEADER = "X-SkyPilot-Version"

# 51 is the first API version for which the server sends a replica's handle as null instead of a
# base64 pickle; 62 is what 0.14.1 speaks. The version string is parsed as semver by the server.
CLIENT_API_VERSION = 62
CLIENT_VERSION = "0.14.1"

UNFINISHED = frozenset({"PENDING", "RUNNING"})
NO_SERVICES_TYPE = "ClusterNotUpError"
NO_SERVICES_MESSAGE = "No live services"
RUNTIME_ERROR = "RuntimeError"
# sky/serve/server/impl.py status: f"Failed to refresh {noun}s status due to network error."
NETWORK_ERROR_MARK = "status due to network error"
STOPPED = "STOPPED"

SERVE_STATUS_BODY: dict[str, Any] = {"service_names": None}
# What the CLI asks (sdk.status(cluster_names=[SKY_SERVE_CONTROLLER_PREFIX + "*"], all_users=True)):
# the controller's name ends in the API server's user hash, which a client does not know, and it
# belongs to the server's user, so all users. The rest is spelled out because StatusBody's defaults
# (sky/server/requests/payloads.py) differ from the SDK's: left out, include_credentials would be
# True and the answer would carry the controller's SSH private key. summary_response leaves out the
# controller's last_creation_yaml (which may hold secrets) and include_handle its pickled handle;
# a server older than these fields ignores them (BasePayload: extra="ignore").
CONTROLLER_STATUS_BODY: dict[str, Any] = {
    "cluster_names": [SERVE_CONTROLLER_PREFIX + "*", JOBS_CONTROLLER_PREFIX + "*"],
    "all_users": True,
    "refresh": "NONE",
    "include_credentials": False,
    "summary_response": True,
    "include_handle": False,
}
# Submitting status or jobs.pool_status may take at most this share of what is left of the poll's
# budget. Both are submitted after serve.status and before its answer is collected, so one that hangs
# delays that collection: a submit only queues the request on the server, which answers at once, and
# with both hanging serve.status keeps over half of its budget.
SUBMIT_SHARE = 0.25
# The controller's answer may take at most this share of what is left of the poll's budget once
# serve.status is in, so that a slow status call leaves the services time to be parsed and encoded.
CONTROLLER_SHARE = 0.5
# What sky.jobs.pool_status sends (sky/serve/client/impl.py status(pool=True): JobsPoolStatusBody).
POOL_STATUS_BODY: dict[str, Any] = {"pool_names": None}
# The pools' answer may take this share of what is left once the controllers are in.
POOL_SHARE = 0.5
# impl.status(pool=True) when the jobs controller is missing or STOPPED: the jobs controller's hint.
NO_POOLS_MESSAGE = "No in-progress managed jobs"
# Why the pools are missing from a poll (skyserve_exporter_records_skipped_total reasons).
POOLS_UNSUPPORTED = "pool_status_unsupported"  # an API server without /jobs/pool_status (404)
POOLS_FORBIDDEN = "pool_status_forbidden"  # 401/403: the user may not read pools
POOLS_FAILED = "pool_status_failed"  # anything else: a timeout, a server error

_MAX_MESSAGE = 400
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ERRNO = re.compile(r"\[Errno -?\d+\][^'\")\]]*")
_LOGIN_HINTS = ("login", "oauth2")


@dataclass(frozen=True)
class ControllerAnswer:
    """The ``status`` answer for the controller clusters: raw records, or why there are none.

    ``problem`` is set when the call failed (its records are then unknown, not absent); it never
    fails the poll, since the services are what the poll is for.
    """

    records: tuple[Any, ...] = ()
    problem: str | None = None

    def serve_controller_down(self) -> bool | None:
        """The CLI's test: no serve controller, or the latest launched one STOPPED. None: unknown."""
        return self._down(SERVE_CONTROLLER_PREFIX)

    def jobs_controller_down(self) -> bool | None:
        """The same test for the jobs controller, which keeps the pools. None: unknown.

        (``sky jobs pool status`` asks about the serve controller here, which says nothing about
        pools; the jobs controller is the one ``impl.status(pool=True)`` needs.)
        """
        return self._down(JOBS_CONTROLLER_PREFIX)

    def _down(self, prefix: str) -> bool | None:
        if self.problem is not None:
            return None
        latest = self._latest(prefix)
        if latest is None:
            return True
        status = latest.get("status")
        return status == STOPPED if isinstance(status, str) else None

    def describe(self) -> str:
        """The serve controller's state in words, for an error message."""
        if self.problem is not None:
            return f"the serve controller's status is unknown: {self.problem}"
        latest = self._latest(SERVE_CONTROLLER_PREFIX)
        if latest is None:
            return "there is no serve controller"
        name, status = (clean_message(str(latest.get(key))) for key in ("name", "status"))
        return f"serve controller {name} is {status}"

    def _latest(self, prefix: str) -> Mapping[str, Any] | None:
        # status lists clusters by launched_at, latest first; the CLI reads the first.
        return next(
            (
                record
                for record in self.records
                if isinstance(record, Mapping)
                and isinstance(record.get("name"), str)
                and record["name"].startswith(prefix)
            ),
            None,
        )


@dataclass(frozen=True)
class PoolAnswer:
    """The ``jobs.pool_status`` answer: raw pool records, or why there are none.

    ``reason`` (one of the ``POOLS_*`` reasons) and ``problem`` are set when the call failed; as for
    the controllers, that never fails the poll.
    """

    records: tuple[ServiceWire | None, ...] = ()
    reason: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class ServeStatusAnswer:
    """What one poll brought back: the raw service, controller and pool records and the server's
    version info."""

    services: tuple[ServiceSource, ...]
    upstream: Mapping[str, str]
    controllers: ControllerAnswer = ControllerAnswer()
    pools: PoolAnswer = PoolAnswer()


@dataclass(frozen=True)
class RemoteError:
    """An exception the server raised while running our request (never its stack trace)."""

    type: str
    message: str

    def means_no_services(self) -> bool:
        return self.type == NO_SERVICES_TYPE and NO_SERVICES_MESSAGE in self.message

    def means_no_pools(self) -> bool:
        return self.type == NO_SERVICES_TYPE and NO_POOLS_MESSAGE in self.message

    def is_runtime_error(self) -> bool:
        return self.type == RUNTIME_ERROR

    def is_network_error(self) -> bool:
        """The API server could not reach the internet (its check before looking for a controller)."""
        return self.is_runtime_error() and NETWORK_ERROR_MARK in self.message

    def describe(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type


@dataclass(frozen=True)
class RequestPayload:
    """The parts of an /api/get payload the exporter reads."""

    status: str
    return_value: str | None
    error: RemoteError | None


class _NoRoute(UpstreamParseError):
    """The server has no such route (HTTP 404 on submit)."""


@dataclass(frozen=True)
class _Call:
    """A secondary request: its route and body, its name in messages and the name of its budget."""

    path: str
    body: Mapping[str, Any]
    what: str
    budget: str
    not_found: type[CollectorError] = UpstreamParseError


_CONTROLLERS = _Call("/status", CONTROLLER_STATUS_BODY, "status", "controller status")
_POOLS = _Call("/jobs/pool_status", POOL_STATUS_BODY, "jobs.pool_status", "pool status", _NoRoute)


# A secondary call submitted before serve.status is collected: its request id, or the failure to
# submit it, raised when its answer is wanted so that the call's own handling classifies it there.
_Submitted = str | CollectorError


@dataclass(frozen=True)
class _Answer:
    """One HTTP answer, its body already read within the deadline and the size cap."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes | bytearray
    to_login: bool


class SkyServeClient:
    """Fetches ``serve status`` for all services, within ``timeout`` seconds in total.

    ``fetch`` submits every call before it collects any answer, with no threads of its own: the API
    server runs each submitted request on its own worker, so the requests run side by side there and
    a poll takes as long as its slowest call, not the sum of the three.
    """

    def __init__(
        self,
        session: requests.Session,
        connection: Connection,
        timeout: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        retry_delay: float = 0.5,
        body_size_limit: int = DEFAULT_BODY_SIZE_LIMIT,
        pools: bool = True,
    ) -> None:
        self._pools = pools
        self._session = session
        self._connection = connection
        self._timeout = timeout
        self._body_size_limit = body_size_limit
        self._monotonic = monotonic
        self._sleep = sleep
        self._retry_delay = retry_delay

    @property
    def server(self) -> str:
        return self._connection.base_url

    def fetch(self) -> ServeStatusAnswer:
        deadline = Deadline(self._timeout, self._monotonic, "serve status")
        headers = self._headers()
        upstream = self._health(deadline, headers)
        # serve.status goes first so that its request is running on the server before a secondary
        # submit can hang; the secondaries then run beside it (one worker each on the server).
        request_id = self._submit("/serve/status", SERVE_STATUS_BODY, "serve.status", deadline, headers)
        controllers_asked = self._submit_aside(_CONTROLLERS, deadline, headers)
        pools_asked = self._submit_aside(_POOLS, deadline, headers) if self._pools else None
        # Should serve.status raise here (a refusal, a timeout, an unreadable answer), the secondaries
        # are left uncollected: the poll has failed whatever they say, they are reads the server
        # finishes and forgets on its own, and cancelling them would be further calls to a server
        # that has just failed one.
        outcome = _serve_outcome(self._wait(request_id, "serve.status", deadline, headers))
        controllers = self._controllers(controllers_asked, deadline, headers)
        if isinstance(outcome, RemoteError):
            _unless_no_services(outcome, controllers)
            outcome = []
        pools = (
            PoolAnswer()
            if pools_asked is None
            else self._pool_status(pools_asked, deadline, headers, controllers)
        )
        return ServeStatusAnswer(
            services=tuple(outcome), upstream=upstream, controllers=controllers, pools=pools
        )

    def _submit_aside(self, call: _Call, deadline: Deadline, headers: dict[str, str]) -> _Submitted:
        """Submit a secondary call within ``SUBMIT_SHARE`` of what is left; a failure is kept for
        when its answer is collected, since it must not fail the poll."""
        try:
            share = Deadline(deadline.remaining() * SUBMIT_SHARE, self._monotonic, call.budget)
            request_id = self._submit(
                call.path, call.body, call.what, share, headers, not_found=call.not_found
            )
        except CollectorError as exc:
            return exc
        return request_id

    def _pool_status(
        self,
        asked: _Submitted,
        deadline: Deadline,
        headers: dict[str, str],
        controllers: ControllerAnswer,
    ) -> PoolAnswer:
        """``jobs.pool_status``, or why it could not be had: no such route, no permission, a failure.

        As for the services, a RuntimeError (an API server without internet fails every
        ``pool_status`` so) while there is no jobs controller, or the latest one is STOPPED, means
        no pools.
        """
        try:
            request_id = _submitted_id(asked)
            share = Deadline(deadline.remaining() * POOL_SHARE, self._monotonic, _POOLS.budget)
            payload = self._wait(request_id, _POOLS.what, share, headers)
            error = payload.error
            if error is not None and (
                error.means_no_pools() or (error.is_runtime_error() and controllers.jobs_controller_down())
            ):
                return PoolAnswer()  # no jobs controller (or a STOPPED one): no pools
            return PoolAnswer(records=tuple(_result_services(payload, _POOLS.what)))
        except _NoRoute as exc:
            return PoolAnswer(reason=POOLS_UNSUPPORTED, problem=f"the API server has no pools: {exc}")
        except UpstreamAuthError as exc:
            return PoolAnswer(reason=POOLS_FORBIDDEN, problem=str(exc))
        except CollectorError as exc:
            return PoolAnswer(reason=POOLS_FAILED, problem=str(exc))

    def _controllers(
        self, asked: _Submitted, deadline: Deadline, headers: dict[str, str]
    ) -> ControllerAnswer:
        """``status`` for the controller clusters, or why it could not be had."""
        try:
            request_id = _submitted_id(asked)
            share = Deadline(deadline.remaining() * CONTROLLER_SHARE, self._monotonic, _CONTROLLERS.budget)
            payload = self._wait(request_id, _CONTROLLERS.what, share, headers)
            return ControllerAnswer(records=tuple(_result_list(payload, _CONTROLLERS.what)))
        except CollectorError as exc:
            return ControllerAnswer(problem=str(exc))

    def _headers(self) -> dict[str, str]:
        headers = {
            API_VERSION_HEADER: str(CLIENT_API_VERSION),
            VERSION_HEADER: CLIENT_VERSION,
            "Accept": "application/json",
        }
        token = self._connection.token.read()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _health(self, deadline: Deadline, headers: dict[str, str]) -> dict[str, str]:
        answer = self._request("GET", "/api/health", deadline, headers)
        self._check(answer, "health check", not_found=UpstreamParseError)
        body = _json(answer, "/api/health")
        if not isinstance(body, Mapping):
            raise UpstreamParseError("/api/health did not answer with a JSON object")
        found = {
            "version": body.get("version") or answer.headers.get(VERSION_HEADER),
            "api_version": body.get("api_version") or answer.headers.get(API_VERSION_HEADER),
        }
        # These reach the landing page and the exporter's own metrics: a value that cannot be
        # written as UTF-8 would break both, so it is left out.
        texts = {key: str(value) for key, value in found.items() if value is not None}
        return {key: text for key, text in texts.items() if encodable(text)}

    def _submit(
        self,
        path: str,
        body: Mapping[str, Any],
        what: str,
        deadline: Deadline,
        headers: dict[str, str],
        *,
        not_found: type[CollectorError] = UpstreamParseError,
    ) -> str:
        answer = self._request("POST", path, deadline, headers, json=body)
        self._check(answer, what, not_found=not_found)
        request_id = answer.headers.get(REQUEST_ID_HEADER) or answer.headers.get(LEGACY_REQUEST_ID_HEADER)
        if not request_id:
            raise UpstreamParseError(f"{what} answer from {self.server} has no {REQUEST_ID_HEADER} header")
        return request_id

    def _wait(
        self, request_id: str, what: str, deadline: Deadline, headers: dict[str, str]
    ) -> RequestPayload:
        """The request's payload once it has finished (succeeded, failed or cancelled)."""
        while True:
            params = {"request_id": request_id}
            answer = self._request("GET", "/api/get", deadline, headers, params=params)
            payload = self._result_payload(answer, what)
            del answer  # its body (4 MB per 1,000 replicas) is not needed while the services are parsed
            if payload.status not in UNFINISHED:
                return payload
            # The server long-polls until the request finishes, so this is a fallback for servers
            # (or proxies) that answer early; it must not spin.
            self._sleep(min(self._retry_delay, deadline.remaining()))

    def _result_payload(self, answer: _Answer, what: str) -> RequestPayload:
        if answer.status_code == 500:
            payload = _error_payload(answer)
            if payload is not None:
                return payload
        self._check(answer, f"{what} result", not_found=CollectorError)
        kind = answer.headers.get("Content-Type", "no content type")
        what = f"/api/get answered HTTP {answer.status_code} ({kind})"
        return decode_payload(decode_payload_fields(answer.body, what))

    def _request(
        self, method: str, path: str, deadline: Deadline, headers: dict[str, str], **kwargs: Any
    ) -> _Answer:
        auth = None if "Authorization" in headers else self._connection.basic_auth
        try:
            # stream=True: requests would otherwise read the body itself, with no bound on its
            # size or on the time a trickling server may take to send it.
            response = self._session.request(
                method,
                self.server + path,
                headers=headers,
                auth=auth,
                timeout=deadline.remaining(),
                stream=True,
                **kwargs,
            )
        except requests.Timeout as exc:
            raise UpstreamTimeout(f"{method} {path}: no answer from {self.server} in time") from exc
        except requests.ConnectionError as exc:
            raise UpstreamUnavailable(f"cannot reach {self.server}: {_reason(exc)}") from exc
        except requests.RequestException as exc:
            raise UpstreamUnavailable(f"{method} {path} to {self.server} failed: {_reason(exc)}") from exc
        body = read_body(response, deadline, self._body_size_limit, f"{method} {path}")
        return _Answer(response.status_code, response.headers, body, _redirected_to_login(response))

    def _check(self, answer: _Answer, what: str, not_found: type[CollectorError]) -> None:
        code = answer.status_code
        if code in (401, 403) or answer.to_login:
            # The server's reason ("Service account authentication disabled") is what tells an
            # operator which credential to fix; it never echoes the credential.
            raise UpstreamAuthError(
                f"{what}: {self.server} refused our credentials (HTTP {code}){_detail(answer)}"
            )
        if code == 200:
            return
        message = f"{what}: HTTP {code} from {self.server}{_detail(answer)}"
        if code == 404:
            raise not_found(message)
        if code >= 500:
            raise UpstreamUnavailable(message)
        raise CollectorError(message)


def _submitted_id(asked: _Submitted) -> str:
    if isinstance(asked, CollectorError):
        raise asked
    return asked


def _serve_outcome(payload: RequestPayload) -> list[ServiceSource] | RemoteError:
    """The services, or the RuntimeError whose meaning depends on the controller's state."""
    error = payload.error
    if error is not None:
        if error.means_no_services():
            return []
        if error.is_runtime_error():
            return error
    _succeeded(payload, "serve.status")
    if payload.return_value is None:
        raise UpstreamParseError("serve.status succeeded without a return_value")
    # Each service is decoded later, and only when its text changed (memo.ServiceMemo).
    return split_services(payload.return_value, "serve.status")


def _unless_no_services(error: RemoteError, controllers: ControllerAnswer) -> None:
    """Return when ``sky serve status`` would print "No live services."; raise the failure otherwise.

    The CLI treats any RuntimeError so: the controller may have been stopped while it was being
    asked. Otherwise an API server without internet cannot see the services, so that one is
    ``unavailable``; any other RuntimeError keeps its class. Both carry the server's message.
    """
    if controllers.serve_controller_down():
        return
    message = f"serve.status failed on the API server: {error.describe()} ({controllers.describe()})"
    if error.is_network_error():
        raise UpstreamUnavailable(message)
    raise CollectorError(message)


def _result_list(payload: RequestPayload, what: str) -> list[Any]:
    """The list a finished request returned; CollectorError with the server's message when it failed."""
    _succeeded(payload, what)
    return decode_list(payload.return_value, what)


def _result_services(payload: RequestPayload, what: str) -> list[ServiceWire | None]:
    """The services (or pools) a finished request returned, decoded into wire records."""
    _succeeded(payload, what)
    if payload.return_value is None:
        raise UpstreamParseError(f"{what} succeeded without a return_value")
    return decode_services(payload.return_value, what)


def _succeeded(payload: RequestPayload, what: str) -> None:
    if payload.error is not None:
        raise CollectorError(f"{what} failed on the API server: {payload.error.describe()}")
    if payload.status != "SUCCEEDED":
        raise CollectorError(f"{what} ended with status {payload.status} on the API server")


def _error_payload(answer: _Answer) -> RequestPayload | None:
    """The failed request's payload in a 500 answer (``{"detail": payload}``), if it is one."""
    try:
        detail = loads_json(answer.body, "/api/get").get("detail")
    except (UpstreamParseError, AttributeError):
        return None
    if not isinstance(detail, Mapping):
        return None
    payload = decode_payload(detail)
    return payload if payload.error is not None else None


def _json(answer: _Answer, what: str) -> Any:
    kind = answer.headers.get("Content-Type", "no content type")
    return loads_json(answer.body, f"{what} answered HTTP {answer.status_code} ({kind})")


def _detail(answer: _Answer) -> str:
    """The server's reason, from ``{"detail": "..."}`` (FastAPI, bearer refusals) or a bare JSON
    string (basic-auth refusals); "" for anything else (an HTML page, a validation list)."""
    try:
        body = loads_json(answer.body, "error answer")
    except UpstreamParseError:
        return ""
    detail = body.get("detail") if isinstance(body, Mapping) else body
    return f": {clean_message(detail)}" if isinstance(detail, str) and detail.strip() else ""


def _redirected_to_login(response: requests.Response) -> bool:
    """An auth proxy in front of the server redirects to its login page instead of answering 401."""
    return bool(response.history) and any(hint in response.url.lower() for hint in _LOGIN_HINTS)


def _reason(exc: requests.RequestException) -> str:
    match = _ERRNO.search(str(exc))
    return match.group(0).strip() if match else type(exc).__name__


def decode_payload(body: Any) -> RequestPayload:
    """Read a ``RequestPayload`` JSON object; UpstreamParseError when it has another shape."""
    if not isinstance(body, Mapping) or not isinstance(body.get("status"), str):
        raise UpstreamParseError("/api/get payload is not an object with a string 'status'")
    return_value = body.get("return_value")
    if return_value is not None and not isinstance(return_value, str):
        raise UpstreamParseError("/api/get payload 'return_value' is not a JSON string")
    return RequestPayload(
        status=body["status"], return_value=return_value, error=decode_error(body.get("error"))
    )


def decode_error(field: Any) -> RemoteError | None:
    """The serialized exception in a payload's ``error`` field (a JSON string, ``"null"`` when none)."""
    if field is None:
        return None
    data = _loads(field, "error") if isinstance(field, str) else field
    if data is None:
        return None
    if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
        raise UpstreamParseError("/api/get payload 'error' is not a serialized exception")
    message = data.get("message")
    return RemoteError(type=data["type"], message=clean_message(message if isinstance(message, str) else ""))


def decode_list(return_value: str | None, what: str = "serve.status") -> list[Any]:
    """The list of records inside a succeeded payload (services, or clusters for ``status``)."""
    if return_value is None:
        raise UpstreamParseError(f"{what} succeeded without a return_value")
    records = _loads(return_value, "return_value")
    if not isinstance(records, list):
        raise UpstreamParseError(f"{what} return_value is a {type(records).__name__}, not a list")
    return records


def clean_message(text: str) -> str:
    """Upstream text fit for an error message: no colour codes, no URL userinfo, bounded length."""
    if not encodable(text):
        # A lone surrogate would make logging this message (and any page showing it) fail.
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = redact_text(_ANSI.sub("", text)).strip()
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "..."


def _loads(text: str, field: str) -> Any:
    return loads_json(text, f"/api/get payload {field!r}")

"""REST client for the SkyPilot API server: health, then ``serve.status`` submitted and long-polled.

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
decoded.
"""

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from collectors.skyserve.config import Connection
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

_MAX_MESSAGE = 400
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ERRNO = re.compile(r"\[Errno -?\d+\][^'\")\]]*")
_LOGIN_HINTS = ("login", "oauth2")


@dataclass(frozen=True)
class ServeStatusAnswer:
    """What one poll brought back: the raw service records and the server's version info."""

    services: tuple[Any, ...]
    upstream: Mapping[str, str]


@dataclass(frozen=True)
class RemoteError:
    """An exception the server raised while running our request (never its stack trace)."""

    type: str
    message: str

    def means_no_services(self) -> bool:
        return self.type == NO_SERVICES_TYPE and NO_SERVICES_MESSAGE in self.message

    def describe(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type


@dataclass(frozen=True)
class RequestPayload:
    """The parts of an /api/get payload the exporter reads."""

    status: str
    return_value: str | None
    error: RemoteError | None


@dataclass(frozen=True)
class _Answer:
    """One HTTP answer, its body already read within the deadline and the size cap."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes | bytearray
    to_login: bool


class SkyServeClient:
    """Fetches ``serve status`` for all services, within ``timeout`` seconds in total."""

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
    ) -> None:
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
        request_id = self._submit(deadline, headers)
        services = self._wait(request_id, deadline, headers)
        return ServeStatusAnswer(services=tuple(services), upstream=upstream)

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

    def _submit(self, deadline: Deadline, headers: dict[str, str]) -> str:
        body = {"service_names": None}
        answer = self._request("POST", "/serve/status", deadline, headers, json=body)
        self._check(answer, "serve.status", not_found=UpstreamParseError)
        request_id = answer.headers.get(REQUEST_ID_HEADER) or answer.headers.get(LEGACY_REQUEST_ID_HEADER)
        if not request_id:
            raise UpstreamParseError(
                f"serve.status answer from {self.server} has no {REQUEST_ID_HEADER} header"
            )
        return request_id

    def _wait(self, request_id: str, deadline: Deadline, headers: dict[str, str]) -> list[Any]:
        while True:
            params = {"request_id": request_id}
            answer = self._request("GET", "/api/get", deadline, headers, params=params)
            payload = self._result_payload(answer)
            del answer  # its body (4 MB per 1,000 replicas) is not needed while the services are parsed
            if payload.status not in UNFINISHED:
                return _services(payload)
            # The server long-polls until the request finishes, so this is a fallback for servers
            # (or proxies) that answer early; it must not spin.
            self._sleep(min(self._retry_delay, deadline.remaining()))

    def _result_payload(self, answer: _Answer) -> RequestPayload:
        if answer.status_code == 500:
            payload = _error_payload(answer)
            if payload is not None:
                return payload
        self._check(answer, "serve.status result", not_found=CollectorError)
        return decode_payload(_json(answer, "/api/get"))

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
            raise UpstreamAuthError(f"{what}: {self.server} refused our credentials (HTTP {code})")
        if code == 200:
            return
        message = f"{what}: HTTP {code} from {self.server}{_detail(answer)}"
        if code == 404:
            raise not_found(message)
        if code >= 500:
            raise UpstreamUnavailable(message)
        raise CollectorError(message)


def _services(payload: RequestPayload) -> list[Any]:
    if payload.error is not None:
        if payload.error.means_no_services():
            return []
        raise CollectorError(f"serve.status failed on the API server: {payload.error.describe()}")
    if payload.status != "SUCCEEDED":
        raise CollectorError(f"serve.status ended with status {payload.status} on the API server")
    return decode_services(payload.return_value)


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
    try:
        detail = loads_json(answer.body, "error answer").get("detail")
    except (UpstreamParseError, AttributeError):
        return ""
    return f": {clean_message(detail)}" if isinstance(detail, str) and detail else ""


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


def decode_services(return_value: str | None) -> list[Any]:
    """The list of service records inside a succeeded serve.status payload."""
    if return_value is None:
        raise UpstreamParseError("serve.status succeeded without a return_value")
    services = _loads(return_value, "return_value")
    if not isinstance(services, list):
        raise UpstreamParseError(f"serve.status return_value is a {type(services).__name__}, not a list")
    return services


def clean_message(text: str) -> str:
    """Upstream text fit for an error message: no colour codes, no URL userinfo, bounded length."""
    if not encodable(text):
        # A lone surrogate would make logging this message (and any page showing it) fail.
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = redact_text(_ANSI.sub("", text)).strip()
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "..."


def _loads(text: str, field: str) -> Any:
    return loads_json(text, f"/api/get payload {field!r}")

"""Kubernetes client and urllib3 failures as the exporter's error classes, with bounded messages.

The API server's own explanation (the ``message`` of its ``Status`` body) is kept, cut short;
tokens never appear in either side's messages.
"""

import json
from typing import Final

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)

from exporter.errors import (
    CollectorError,
    UpstreamAuthError,
    UpstreamParseError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from exporter.redact import redact_text
from exporter.upstream import encodable

GONE: Final = 410
_MAX_MESSAGE = 300


def api_error(exc: ApiException, where: str) -> CollectorError:
    """An HTTP error answer (or the client's status-0 transport error, e.g. TLS) as an exporter error."""
    status = exc.status or 0
    message = f"{where}: HTTP {status} {exc.reason or ''}".rstrip() + _status_message(exc.body)
    if status in (401, 403):
        return UpstreamAuthError(message)
    if status in {0, 429} or status >= 500:
        return UpstreamUnavailable(message)
    return CollectorError(message)


def transport_error(exc: HTTPError, where: str) -> CollectorError:
    """A failure below HTTP (refused, reset, timed out); retries are off, so one attempt's cause."""
    cause: BaseException = exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc
    # NewConnectionError (refused, unresolvable) subclasses ConnectTimeoutError in urllib3: test it first.
    if isinstance(cause, NewConnectionError):
        return UpstreamUnavailable(f"{where}: cannot connect ({_short(cause)})")
    if isinstance(cause, ConnectTimeoutError | ReadTimeoutError | TimeoutError):
        return UpstreamTimeout(f"{where}: no answer in time")
    return UpstreamUnavailable(f"{where}: {type(cause).__name__} ({_short(cause)})")


def parse_error(where: str, problem: str) -> UpstreamParseError:
    return UpstreamParseError(f"{where}: {problem}")


def _status_message(body: object) -> str:
    """The ``message`` of a Kubernetes ``Status`` body, if the error carried one."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body:
        return ""
    try:
        status = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the decoder follows
        return ""
    message = status.get("message") if isinstance(status, dict) else None
    return f": {_bounded(message)}" if isinstance(message, str) and message else ""


def _short(exc: BaseException) -> str:
    # urllib3 prefixes its messages with the connection object's repr: keep the part after it.
    return _bounded(str(exc).rpartition(">: ")[2] or type(exc).__name__)


def _bounded(text: str) -> str:
    if not encodable(text):
        # A lone surrogate from the API server's JSON would make logging this message fail.
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = redact_text(" ".join(text.split()))
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "..."

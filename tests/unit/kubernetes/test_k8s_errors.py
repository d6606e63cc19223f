"""Client and urllib3 failures map onto the exporter's error classes."""

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from collectors.kubernetes.errors import api_error, transport_error
from exporter.errors import ErrorKind


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

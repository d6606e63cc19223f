"""The SkyPilot API server's wire format (0.14.x): header names, the /api/get payload, its error JSON.

Verified against SkyPilot's source: ``sky/server/constants.py`` (version headers),
``sky/server/common.py`` (``X-Skypilot-Request-ID``), ``sky/server/server.py`` (``/api/get``: 404 for an
unknown id, 500 with ``{"detail": payload}`` when the request failed, 503 when it should be retried),
``sky/server/requests/requests.py`` (``encode()``: ``return_value`` and ``error`` are JSON strings) and
``sky/exceptions.py`` (``serialize_exception``: ``type``, ``message``, ``args``, ``attributes``,
``stacktrace``). Pickled fields (``entrypoint``, ``request_body``, a replica's ``handle``) are never
decoded.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exporter.errors import UpstreamParseError
from exporter.redact import redact_text
from exporter.upstream import encodable, loads_json

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

"""SkyPilot 0.14.1 API-server wire constants and payload shapes, as the real server sends them.

Sources (skypilot 0.14.1 wheel): sky/server/constants.py, sky/server/server.py (middlewares,
``api_get``, ``health``), sky/server/requests/requests.py (``Request.encode``, ``set_error``),
sky/server/requests/payloads.py (``RequestPayload``), sky/exceptions.py (``serialize_exception``).
"""

import base64
import json
import pickle
from typing import Any

API_VERSION = 62
VERSION = "0.14.1"
COMMIT = "7e595970a806dcc9eefadf459f399edf1733e962"
# Clients below this get HTTP 400 version_mismatch from the real server.
MIN_COMPATIBLE_API_VERSION = 24
MIN_COMPATIBLE_VERSION = "0.11.0"
# From this client API version on, the server sends each replica's handle as null.
MIN_LAZY_REPLICA_HANDLE_API_VERSION = 51

API_VERSION_HEADER = "X-SkyPilot-API-Version"
VERSION_HEADER = "X-SkyPilot-Version"
REQUEST_ID_HEADER = "X-Skypilot-Request-ID"
# colorama's Fore.YELLOW and Style.RESET_ALL, which the server's version messages embed.
_YELLOW = "\x1b[33m"
_RESET = "\x1b[0m"

# Request names as the executor stores them: REQUEST_NAME_PREFIX ("sky.") + RequestName's value.
REQUEST_NAME = "sky.serve.status"
CLUSTER_STATUS_REQUEST_NAME = "sky.status"
# The API server's own user hash: the request's user_id when a caller sends no identity.
SERVER_USER_HASH = "7f3e9a1c"
SERVER_USER_NAME = "sky"
SERVE_CONTROLLER_NAME = f"sky-serve-controller-{SERVER_USER_HASH}"
JOBS_CONTROLLER_NAME = f"sky-jobs-controller-{SERVER_USER_HASH}"
POOL_STATUS_REQUEST_NAME = "sky.jobs.pool_status"
SCHEDULE_TYPE = "short"
# base64(pickle.dumps(None)): SkyPilot's own constant for an empty pickled field. The SDK unpickles
# entrypoint and request_body, so they must be valid pickles; None is the harmless one.
EMPTY_PICKLED_VALUE = "gAROLg=="
REPLICA_INFO_VERSION = 3

# What an old server sends as a replica handle: shaped like a protocol-4 pickle header but
# deliberately not loadable, so a client that unpickles it fails loudly in tests.
FAKE_HANDLE = base64.b64encode(
    b"\x80\x04\x95\x00\x06\x00\x00\x00\x00\x00\x00\x8c\x1bsimulated.not.a.real.handle" + b"\xfe" * 1500
).decode("ascii")


def health_body(
    user: dict[str, Any] | None,
    needs_auth: bool,
    *,
    basic_auth_enabled: bool = False,
    service_account_token_enabled: bool = False,
) -> dict[str, Any]:
    """The ``/api/health`` body of an authenticated (or auth-less) caller."""
    return {
        "status": "needs_auth" if needs_auth else "healthy",
        "api_version": str(API_VERSION),
        "version": VERSION,
        "version_on_disk": VERSION,
        "commit": COMMIT,
        "basic_auth_enabled": basic_auth_enabled,
        "user": user,
        "service_account_token_enabled": service_account_token_enabled,
        "ingress_basic_auth_enabled": False,
        "external_proxy_auth_enabled": False,
        "latest_version": None,
        "telemetry_enabled": True,
        "restrict_config_to_admins": True,
    }


def encode_error(error_type: str, message: str, attributes: dict[str, Any] | None = None) -> str:
    """The ``error`` field of a failed request: a JSON string with a pickled serialized exception.

    The pickle holds only strings, tuples and None (``sky.exceptions.serialize_exception``'s dict),
    which is what lets the official SDK rebuild the exception; the exporter must never load it.
    """
    serialized: dict[str, Any] = {
        "type": error_type,
        "message": message,
        "args": (message,),
        "attributes": attributes or {},
        "stacktrace": None,
    }
    obj = base64.b64encode(pickle.dumps(serialized, protocol=4)).decode("ascii")
    return json.dumps({"object": obj, "type": error_type, "message": message})


def version_mismatch_body(client_version: str) -> dict[str, Any]:
    """HTTP 400 body the real server sends to a client older than MIN_COMPATIBLE_API_VERSION.

    ``sky.server.versions.CLIENT_TOO_OLD_ERROR``, colorama escapes and all (no space after the colon).
    """
    return {
        "error": "version_mismatch",
        "message": (
            f"{_YELLOW}Your SkyPilot client version is too old:{client_version}\n{_RESET}"
            f"The server is running on {VERSION} and the minimum compatible "
            f"version is {MIN_COMPATIBLE_VERSION}.\n"
            f"Upgrade your client with:\n{_YELLOW}"
            f'pip install -U "skypilot=={VERSION}"{_RESET}'
        ),
    }


def server_error_text(exc: BaseException, origin: str) -> str:
    """What Starlette's ``ServerErrorMiddleware`` sends for an exception a middleware raised.

    SkyPilot builds its app with ``FastAPI(debug=True)``, so that is the traceback as plain text
    (HTML only for an ``Accept`` naming text/html, which no API client sends).
    """
    return f'Traceback (most recent call last):\n  File "{origin}"\n{type(exc).__name__}: {exc}\n'

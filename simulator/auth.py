"""Authentication shaped like skypilot 0.14.1's middlewares in ``sky/server/server.py``.

The real server runs them outermost first: ``BearerTokenMiddleware`` (always installed; service
accounts), then ``BasicAuthMiddleware`` (only with ``SKYPILOT_ENABLE_BASIC_AUTH=true``), then any
auth proxy. Each refuses with 401 and ``Cache-Control: no-store`` (``_bearer_auth_401_response``,
``_basic_auth_401_response``); the bearer refusal's body is ``{"detail": ...}``, the basic one's a
bare JSON string with ``WWW-Authenticate: Basic realm="SkyPilot"``.

Two departures, both so that the simulator is useful on loopback:

- ``BasicAuthMiddleware`` lets every loopback caller through (``loopback.is_loopback_request``).
  The simulator listens on loopback but stands in for a server the exporter reaches over the
  network, so it treats every caller as remote.
- With a token configured (service accounts on), the real server accepts an unauthenticated
  request unless something else (an OAuth2 proxy, an ingress) refuses it. The simulator plays that
  something: every path but ``/api/health`` needs the token, and it accepts exactly
  ``Bearer <token>`` even when the token lacks the ``sky_`` prefix real tokens carry.
"""

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from simulator.http_util import json_response

SERVICE_ACCOUNT = {"id": "sa-5f2c9e1d", "name": "skyserve-exporter"}
HEALTH_PREFIX = "/api/health"
# Real service-account tokens start with this; only those (or a request that declares token auth)
# are checked by the bearer middleware.
SERVICE_ACCOUNT_TOKEN_PREFIX = "sky_"
AUTH_MODE_HEADER = "X-Skypilot-Auth-Mode"
BASIC_REALM = 'Basic realm="SkyPilot"'
# sky.utils.common_utils.USER_HASH_LENGTH
_USER_HASH_LENGTH = 8


@dataclass(frozen=True)
class Passed:
    """The caller got through: as ``user`` (the health body's ``user``), or anonymously (None)."""

    user: dict[str, Any] | None = None


class MalformedHeader(Exception):
    """What the real middleware raises (and Starlette answers with a bare 500) for a header it
    indexes without checking."""


@dataclass(frozen=True)
class AuthConfig:
    """``token``: service accounts on, accepting this one; ``basic_auth``: the one (user, password)."""

    token: str | None = None
    basic_auth: tuple[str, str] | None = None

    def check(self, request: Request, refuse_all: bool = False) -> Passed | Response:
        """Every auth layer in the real order; ``refuse_all`` is the AUTH fault (health exempt)."""
        caller = self._bearer(request)
        if isinstance(caller, Response):
            return caller
        if caller.user is None and self.basic_auth is not None:
            caller = self._basic(request)
            if isinstance(caller, Response):
                return caller
        return self._gatekeeper(request, caller, refuse_all)

    @property
    def basic_user(self) -> dict[str, Any] | None:
        if self.basic_auth is None:
            return None
        name = self.basic_auth[0]
        user_hash = hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:_USER_HASH_LENGTH]
        return {"id": user_hash, "name": name}

    def anonymous(self, caller: Passed) -> bool:
        """Whether ``/api/health`` sees an unauthenticated caller of a token-protected server."""
        return caller.user is None and self.token is not None and self.basic_auth is None

    def _bearer(self, request: Request) -> Passed | Response:
        """``BearerTokenMiddleware.dispatch`` and ``_handle_service_account_token``."""
        header = request.headers.get("Authorization")
        credential = _bearer_credential(header)
        if credential is not None and self.token is not None and _same(credential, self.token):
            return Passed(dict(SERVICE_ACCOUNT))
        declared = request.headers.get(AUTH_MODE_HEADER) == "token"
        sky_bearer = credential is not None and credential.startswith(SERVICE_ACCOUNT_TOKEN_PREFIX)
        if not declared and not sky_bearer:
            return Passed()
        if header is None:
            return _bearer_refusal("Authentication required")
        parts = header.split(" ", 1)
        if parts[0].lower() != "bearer":
            return _bearer_refusal("Invalid authentication method")
        if len(parts) < 2:
            raise MalformedHeader("list index out of range")
        if self.token is None:
            return _bearer_refusal("Service account authentication disabled")
        return _bearer_refusal("Invalid or expired service account token")

    def _basic(self, request: Request) -> Passed | Response:
        """``BasicAuthMiddleware.dispatch``, ``_try_set_basic_auth_user`` on ``/api/health``."""
        header = request.headers.get("Authorization")
        if request.path.startswith(HEALTH_PREFIX):
            if header is None or not header.lower().startswith("basic "):
                return Passed()
            credentials = _decode_basic(header)
            return Passed(self.basic_user if credentials is not None and self._admits(*credentials) else None)
        if not header:
            return _basic_refusal("Authentication required")
        if not header.lower().startswith("basic "):
            return _basic_refusal("Invalid authentication method")
        credentials = _decode_basic(header)
        if credentials is None:
            return _basic_refusal("Invalid basic auth")
        if not self._admits(*credentials):
            return _basic_refusal("Invalid credentials")
        return Passed(self.basic_user)

    def _admits(self, user: str, password: str) -> bool:
        assert self.basic_auth is not None
        # Both compared whatever the first says, so timing tells nothing either.
        user_ok = _same(user, self.basic_auth[0])
        password_ok = _same(password, self.basic_auth[1])
        return user_ok and password_ok

    def _gatekeeper(self, request: Request, caller: Passed, refuse_all: bool) -> Passed | Response:
        """The proxy in front of a token-protected server (see the module docstring)."""
        if caller.user is not None and not refuse_all:
            return caller
        if request.path.startswith(HEALTH_PREFIX) or not (refuse_all or self.token is not None):
            return caller
        detail = (
            "Invalid or expired service account token"
            if request.headers.get("Authorization")
            else "Authentication required"
        )
        return _bearer_refusal(detail)


def _bearer_credential(header: str | None) -> str | None:
    if header is None or not header.lower().startswith("bearer "):
        return None
    return header.split(" ", 1)[1]


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _decode_basic(header: str) -> tuple[str, str] | None:
    """(user, password) as the middleware decodes them: lenient base64, UTF-8, split on the first ':'."""
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1]).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def _bearer_refusal(detail: str) -> Response:
    # The real server marks auth failures uncacheable so proxies do not keep serving them.
    return json_response(401, {"detail": detail}, {"Cache-Control": "no-store"})


def _basic_refusal(message: str) -> Response:
    return json_response(401, message, {"WWW-Authenticate": BASIC_REALM, "Cache-Control": "no-store"})

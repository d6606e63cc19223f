"""Bearer-token checks shaped like the SkyPilot API server's service-account middleware."""

import hmac
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from simulator.http_util import json_response

SERVICE_ACCOUNT = {"id": "sa-5f2c9e1d", "name": "skyserve-exporter"}


@dataclass(frozen=True)
class Gate:
    """Who may call: ``token`` None means no auth, unless ``refuse_all`` (the AUTH fault) is on."""

    token: str | None
    refuse_all: bool = False

    @property
    def enabled(self) -> bool:
        return self.token is not None or self.refuse_all

    def admits(self, request: Request) -> bool:
        if not self.enabled:
            return True
        if self.refuse_all or self.token is None:
            return False
        return hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {self.token}")

    def refusal(self, request: Request) -> Response:
        detail = (
            "Invalid or expired service account token"
            if request.headers.get("Authorization")
            else "Authentication required"
        )
        # The real server marks auth failures uncacheable so proxies do not keep serving them.
        return json_response(401, {"detail": detail}, {"Cache-Control": "no-store"})

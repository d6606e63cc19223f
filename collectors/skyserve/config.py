"""The ``collectors.skyserve`` config section."""

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import ConfigDict, field_validator

from exporter.collector import CollectorConfig

ENDPOINT_ENV = "SKYPILOT_API_SERVER_ENDPOINT"
TOKEN_ENV = "SKYPILOT_SERVICE_ACCOUNT_TOKEN"
CONFIG_KEY = "collectors.skyserve"


def check_endpoint(url: str) -> str:
    """The endpoint without trailing slashes; ValueError when it is not an http(s) URL with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Name only the scheme: the URL itself may carry credentials.
        raise ValueError(f"endpoint must be an http:// or https:// URL with a host (scheme {parts.scheme!r})")
    if parts.query or parts.fragment:
        raise ValueError("endpoint must not have a query string or fragment")
    return url.strip().rstrip("/")


class SkyServeConfig(CollectorConfig):
    """Where the SkyPilot API server is and how to authenticate to it.

    ``endpoint`` falls back to ``$SKYPILOT_API_SERVER_ENDPOINT`` and the token to
    ``$SKYPILOT_SERVICE_ACCOUNT_TOKEN``; that resolution happens when the collector is created,
    from the environment the exporter hands it.
    """

    # The endpoint may carry basic-auth credentials: keep it out of validation error messages.
    model_config = ConfigDict(hide_input_in_errors=True)

    endpoint: str | None = None
    token_file: Path | None = None

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_http(cls, value: str | None) -> str | None:
        return None if value is None else check_endpoint(value)

    @field_validator("token_file")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser()

"""Where the SkyPilot API server is and with which credentials, with userinfo kept out of every message.

The ``collectors.skyserve`` config section, its environment fallbacks, and the ``Connection`` they
resolve to when the collector is created: the base URL every request goes to and the credentials
sent with it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import ConfigDict, field_validator

from exporter.collector import CollectorConfig
from exporter.config_errors import SectionError
from exporter.errors import CollectorError
from exporter.paths import ConfigPath
from exporter.ports import url_port

ENDPOINT_ENV = "SKYPILOT_API_SERVER_ENDPOINT"
TOKEN_ENV = "SKYPILOT_SERVICE_ACCOUNT_TOKEN"


def check_endpoint(url: str) -> str:
    """The endpoint without trailing slashes; ValueError when it is not an http(s) URL with a host.

    Reasons name neither the key (the caller's path says it) nor the URL, which may carry credentials.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// URL with a host (scheme {parts.scheme!r})")
    url_port(parts)
    if parts.query or parts.fragment:
        raise ValueError("must not have a query string or fragment")
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
    token_file: ConfigPath | None = None
    # Ask ``jobs.pool_status`` too; an API server without pools, or a user without permission for
    # them, is counted as a skipped record and logged, never a failed run.
    pools: bool = True

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_http(cls, value: str | None) -> str | None:
        return None if value is None else check_endpoint(value)


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without userinfo, and the (user, password) it carried, if any."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    host = parts.netloc.rpartition("@")[2]
    bare = urlunsplit(parts._replace(netloc=host))
    return bare, (unquote(parts.username or ""), unquote(parts.password or ""))


@dataclass(frozen=True)
class TokenSource:
    """A bearer token given inline (from the environment) or as a file re-read on every poll.

    Re-reading lets a rotated Kubernetes secret take effect without a restart.
    """

    value: str | None = None
    path: Path | None = None

    def read(self) -> str | None:
        if self.path is None:
            return self.value or None
        try:
            token = self.path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise CollectorError(f"cannot read token file {self.path}: {_why(exc)}") from None
        return token or None

    def __repr__(self) -> str:
        # Never let a repr (logs, tracebacks with locals) show the token itself.
        return f"TokenSource(path={self.path!r}, inline={'yes' if self.value else 'no'})"


@dataclass(frozen=True)
class Connection:
    """The API server's base URL (userinfo stripped) and the credentials to send with each request."""

    base_url: str
    basic_auth: tuple[str, str] | None = None
    token: TokenSource = TokenSource()

    def __repr__(self) -> str:
        auth = "basic" if self.basic_auth else "none"
        return f"Connection(base_url={self.base_url!r}, basic_auth={auth}, token={self.token!r})"


def resolve_connection(config: SkyServeConfig, environ: Mapping[str, str]) -> Connection:
    """The connection the config and environment describe; SectionError naming the key if unusable."""
    endpoint = config.endpoint or environ.get(ENDPOINT_ENV, "").strip()
    if not endpoint:
        raise SectionError(
            "endpoint", f"no SkyPilot API server endpoint; set it in the config or in ${ENDPOINT_ENV}"
        )
    try:
        endpoint = check_endpoint(endpoint)
    except ValueError as exc:
        # Only an endpoint from the environment gets here: one from the file was checked already.
        raise SectionError("endpoint", f"{exc} (from ${ENDPOINT_ENV})") from None
    base_url, basic_auth = split_credentials(endpoint)
    return Connection(base_url=base_url, basic_auth=basic_auth, token=_token_source(config, environ))


def _token_source(config: SkyServeConfig, environ: Mapping[str, str]) -> TokenSource:
    if config.token_file is None:
        return TokenSource(value=environ.get(TOKEN_ENV, "").strip() or None)
    # Read once now, so a wrong path stops the start instead of failing every poll.
    try:
        config.token_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SectionError("token_file", f"{config.token_file}: cannot read: {_why(exc)}") from None
    return TokenSource(path=config.token_file)


def _why(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return "not UTF-8 text"

"""Where to reach the API server and with which credentials, with userinfo kept out of every message."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from collectors.skyserve.config import CONFIG_KEY, ENDPOINT_ENV, TOKEN_ENV, SkyServeConfig, check_endpoint
from exporter.errors import CollectorError


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
        except OSError as exc:
            raise CollectorError(f"cannot read token file {self.path}: {exc.strerror or exc}") from None
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
    """The connection the config and environment describe; ValueError naming the config key if unusable."""
    endpoint = config.endpoint or environ.get(ENDPOINT_ENV, "").strip()
    if not endpoint:
        raise ValueError(
            f"{CONFIG_KEY}.endpoint: no SkyPilot API server endpoint; set it in the config "
            f"or in ${ENDPOINT_ENV}"
        )
    try:
        endpoint = check_endpoint(endpoint)
    except ValueError as exc:
        raise ValueError(f"{CONFIG_KEY}.endpoint (from ${ENDPOINT_ENV}): {exc}") from None
    base_url, basic_auth = split_credentials(endpoint)
    return Connection(base_url=base_url, basic_auth=basic_auth, token=_token_source(config, environ))


def _token_source(config: SkyServeConfig, environ: Mapping[str, str]) -> TokenSource:
    if config.token_file is None:
        return TokenSource(value=environ.get(TOKEN_ENV, "").strip() or None)
    source = TokenSource(path=config.token_file)
    try:
        source.read()
    except CollectorError as exc:
        raise ValueError(f"{CONFIG_KEY}.token_file: {exc}") from None
    return source

"""The ``collectors.probes`` config section: modules like blackbox_exporter's, discovery, static targets."""

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator, model_validator

from collectors.probes.targets import DEFAULT_PORTS, split_host_port
from exporter.collector import CollectorConfig, StrictModel
from exporter.config_errors import key_error
from exporter.durations import Duration
from exporter.paths import ConfigPath
from exporter.ports import PortError, url_port
from exporter.upstream import ByteSize

DEFAULT_MODULE_NAME = "http_2xx"
HTTP_ONLY_KEYS = frozenset(
    {
        "path",
        "method",
        "headers",
        "headers_from_env",
        "body",
        "valid_status_codes",
        "fail_if_body_matches_regexp",
        "fail_if_body_not_matches_regexp",
        "follow_redirects",
        "body_size_limit",
    }
)
TCP_ONLY_KEYS = frozenset({"tls"})
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token: method and header names


class TLSConfig(StrictModel):
    """blackbox's ``tls_config``: trust a private CA, present a client certificate, or skip checks."""

    ca_file: ConfigPath | None = None
    cert_file: ConfigPath | None = None
    key_file: ConfigPath | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False

    @model_validator(mode="after")
    def _key_needs_cert(self) -> "TLSConfig":
        if self.key_file is not None and self.cert_file is None:
            raise key_error("key_file", "needs cert_file")
        return self


class ModuleConfig(StrictModel):
    """How to probe: one blackbox-style module, flattened (no ``http:``/``tcp:`` sub-sections)."""

    prober: Literal["http", "tcp"] = "http"
    timeout: Duration = 5.0
    preferred_ip_protocol: Literal["ip4", "ip6"] = "ip6"
    ip_protocol_fallback: bool = True
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    # http: the path is appended to discovered service and replica endpoints (ours, not blackbox's).
    path: str = "/health"
    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    headers_from_env: dict[str, str] = Field(default_factory=dict)  # header -> environment variable
    body: str = ""
    valid_status_codes: tuple[int, ...] = ()  # empty: any 2xx
    fail_if_body_matches_regexp: tuple[str, ...] = ()
    fail_if_body_not_matches_regexp: tuple[str, ...] = ()
    follow_redirects: bool = True
    # As blackbox's: a longer body fails the probe. Unset: the section's body_size_limit.
    body_size_limit: ByteSize | None = None
    # tcp: TLS right after connecting.
    tls: bool = False

    @field_validator("path")
    @classmethod
    def _path_is_absolute(cls, value: str) -> str:
        if not value.startswith("/") or any(c in value for c in "\r\n #"):
            raise ValueError("must start with '/' and hold no spaces, '#' or line breaks")
        return value

    @field_validator("method")
    @classmethod
    def _method_is_token(cls, value: str) -> str:
        if not _TOKEN.match(value):
            raise ValueError(f"not an HTTP method: {value!r}")
        return value.upper()

    @field_validator("headers", "headers_from_env")
    @classmethod
    def _headers_are_single_lines(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _TOKEN.match(name):
                raise ValueError(f"not an HTTP header name: {name!r}")
            if "\r" in text or "\n" in text:
                # Name only the header: the value may be a secret.
                raise key_error(name, "must not contain line breaks")
        return value

    @field_validator("valid_status_codes")
    @classmethod
    def _status_codes(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [code for code in value if not 100 <= code <= 599]
        if bad:
            raise ValueError(f"HTTP status codes are 100-599, got {bad}")
        return value

    @field_validator("fail_if_body_matches_regexp", "fail_if_body_not_matches_regexp")
    @classmethod
    def _regexps_compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern.encode())
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _keys_fit_the_prober(self) -> "ModuleConfig":
        foreign = HTTP_ONLY_KEYS if self.prober == "tcp" else TCP_ONLY_KEYS
        misplaced = sorted(self.model_fields_set & foreign)
        if misplaced:
            also = f" (nor is {', '.join(misplaced[1:])})" if len(misplaced) > 1 else ""
            raise key_error(misplaced[0], f"not a setting of the {self.prober} prober{also}")
        return self


DEFAULT_MODULE = ModuleConfig()


class DiscoverConfig(StrictModel):
    """Which discovered endpoints to probe, and with which module."""

    services: bool = True
    replicas: bool = False
    nodes: bool = True
    module: str = DEFAULT_MODULE_NAME


class StaticTarget(StrictModel):
    # The URL may carry credentials: keep it out of validation error messages.
    model_config = ConfigDict(hide_input_in_errors=True)

    name: str = Field(min_length=1)
    url: str
    module: str = DEFAULT_MODULE_NAME
    service_name: str = ""


class ProbesConfig(CollectorConfig):
    """Probe discovered endpoints and static targets every ``interval``, ``concurrency`` at a time.

    ``modules`` adds to (or, by name, replaces) the built-in ``http_2xx``: GET ``/health``, 2xx
    expected, 5 s timeout. The section's ``body_size_limit`` caps the body of every http module
    that sets none of its own.
    """

    # Static targets' URLs may carry credentials: keep the section out of validation error messages.
    model_config = ConfigDict(hide_input_in_errors=True)

    interval: Duration = 15.0
    discover: DiscoverConfig = Field(default_factory=DiscoverConfig)
    modules: dict[str, ModuleConfig] = Field(default_factory=dict)
    targets: tuple[StaticTarget, ...] = ()
    concurrency: int = Field(default=64, ge=1, le=1024)

    def all_modules(self) -> dict[str, ModuleConfig]:
        return {DEFAULT_MODULE_NAME: DEFAULT_MODULE, **self.modules}

    @field_validator("timeout")
    @classmethod
    def _timeout_is_per_module(cls, value: float) -> float:
        # The section-wide upstream timeout would silently do nothing here.
        raise ValueError("set it per module (modules.<name>.timeout)")

    @model_validator(mode="after")
    def _references_resolve(self) -> "ProbesConfig":
        modules = self.all_modules()
        if self.discover.module not in modules:
            raise key_error("discover.module", f"unknown module {self.discover.module!r}")
        names: dict[str, int] = {}
        for index, target in enumerate(self.targets):
            if target.name in names:
                raise key_error(
                    f"targets.{index}.name",
                    f"{target.name!r} is the name of targets.{names[target.name]} too",
                )
            names[target.name] = index
            module = modules.get(target.module)
            if module is None:
                raise key_error(f"targets.{index}.module", f"unknown module {target.module!r}")
            try:
                check_target_url(target.url, module.prober)
            except ValueError as exc:
                raise key_error(f"targets.{index}.url", str(exc)) from None
        return self


def check_target_url(url: str, prober: str) -> None:
    """ValueError saying why (never quoting the URL, which may hold credentials) if ``prober``
    cannot use it."""
    if prober == "http":
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            parts = None
        if parts is None or parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("an http module needs an http:// or https:// URL with a host")
        url_port(parts)
        return
    try:
        split_host_port(url)
    except PortError:
        raise  # already says what is wrong with it
    except ValueError:
        raise ValueError("a tcp module needs host:port or a URL with a host") from None

"""Modules compiled from config: headers read from the environment, regexps and TLS contexts built.

Done once when the collector is created, so a missing environment variable or CA file is a
config error at start, not a failed probe every interval.
"""

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from collectors.probes.config import ModuleConfig, ProbesConfig
from collectors.probes.network import Dialer, tls_context
from collectors.probes.probers import HttpSettings, TcpSettings
from collectors.probes.targets import ProbeResult
from exporter.config_errors import SectionError
from exporter.upstream import DEFAULT_BODY_SIZE_LIMIT


class Prober(Protocol):
    def probe(self, target: str, timeout: float) -> ProbeResult: ...


@dataclass(frozen=True)
class Module:
    name: str
    prober_name: str  # http | tcp
    timeout: float
    path: str  # appended to discovered service and replica endpoints
    prober: Prober

    def run(self, target: str, timeout: float | None = None) -> ProbeResult:
        return self.prober.probe(target, self.timeout if timeout is None else timeout)


def compile_modules(config: ProbesConfig, environ: Mapping[str, str]) -> dict[str, Module]:
    """Every module by name; SectionError naming the key when one cannot be built."""
    return {
        name: compile_module(name, module, environ, config.body_size_limit)
        for name, module in config.all_modules().items()
    }


def compile_module(
    name: str,
    config: ModuleConfig,
    environ: Mapping[str, str],
    body_size_limit: int = DEFAULT_BODY_SIZE_LIMIT,
) -> Module:
    """``body_size_limit``: the section's, for a module that sets none."""
    dialer = Dialer(
        preferred_ip_protocol=config.preferred_ip_protocol,
        ip_protocol_fallback=config.ip_protocol_fallback,
        tls=_tls_context(name, config),
        server_name=config.tls_config.server_name,
    )
    prober: Prober
    if config.prober == "tcp":
        prober = TcpSettings(dialer, config.tls)
    else:
        prober = HttpSettings(
            method=config.method,
            headers=(*config.headers.items(), *_env_headers(name, config, environ)),
            body=config.body.encode(),
            valid_status_codes=frozenset(config.valid_status_codes),
            fail_if_body_matches=_patterns(config.fail_if_body_matches_regexp),
            fail_if_body_not_matches=_patterns(config.fail_if_body_not_matches_regexp),
            follow_redirects=config.follow_redirects,
            dialer=dialer,
            body_size_limit=config.body_size_limit or body_size_limit,
        )
    return Module(name, config.prober, config.timeout, config.path, prober)


def _tls_context(name: str, config: ModuleConfig) -> ssl.SSLContext:
    key = f"modules.{name}.tls_config"
    tls = config.tls_config
    # The ssl module's errors do not say which file they are about: try each first.
    unreadable = []
    for field, path in (("ca_file", tls.ca_file), ("cert_file", tls.cert_file), ("key_file", tls.key_file)):
        if path is None:
            continue
        try:
            path.open("rb").close()
        except OSError as exc:
            unreadable.append((f"{key}.{field}", f"{path}: cannot read: {exc.strerror or exc}"))
    if unreadable:
        raise SectionError.of(unreadable)
    try:
        return tls_context(tls)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror or str(exc)
        raise SectionError(key, f"cannot load certificates: {reason}") from None


def _env_headers(name: str, config: ModuleConfig, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    headers = []
    for header, variable in config.headers_from_env.items():
        value = environ.get(variable)
        key = f"modules.{name}.headers_from_env.{header}"
        if value is None:
            raise SectionError(key, f"${variable} is not set")
        if "\r" in value or "\n" in value:
            raise SectionError(key, f"${variable} has a line break")
        headers.append((header, value))
    return headers


def _patterns(expressions: tuple[str, ...]) -> tuple[re.Pattern[bytes], ...]:
    return tuple(re.compile(expression.encode()) for expression in expressions)

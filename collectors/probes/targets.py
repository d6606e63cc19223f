"""What is probed and what a probe found, and the parsing of targets (``host:port``, URLs).

The records every other module of the package builds on; this one imports none of them. ``url_key``
says when two URLs are the same target, which is what ``/probe`` checks a request against.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import urlsplit

from exporter.ports import url_port

# blackbox_exporter's probe_http_duration_seconds phases, in its order.
PHASES = ("resolve", "connect", "tls", "processing", "transfer")
DEFAULT_PORTS = {"http": 80, "https": 443}
UrlKey = tuple[str, str, str, int, str, str]


@dataclass(frozen=True)
class ProbeTarget:
    """One thing to probe. ``url`` may carry credentials and is never exported; ``label`` is."""

    label: str  # the target label: the redacted URL, or a static target's name
    url: str
    module: str
    kind: str  # service | replica | node | static
    service_name: str = ""
    replica_id: str = ""

    @property
    def labels(self) -> tuple[str, str, str, str]:
        return (self.label, self.service_name, self.replica_id, self.kind)


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one probe, blackbox-style: a failure is data, not an exception."""

    prober: str  # http | tcp
    success: bool
    duration: float
    status_code: int = 0  # http: the final status after redirects; 0 when no response arrived
    phases: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))  # http only
    cert_expiry: float | None = None  # when TLS was used: earliest notAfter the peer presented
    failure: str = ""  # why it failed, for debug logs (already free of secrets)


class Trace:
    """What one probe measured so far: phase times summed over round trips, and the last answer."""

    def __init__(self) -> None:
        self.phases = dict.fromkeys(PHASES, 0.0)
        self.status_code = 0
        self.cert_expiry: float | None = None

    def add(self, phase: str, seconds: float) -> None:
        self.phases[phase] += seconds

    def lap(self, phase: str, since: float) -> float:
        """Add the time since ``since`` to ``phase``; returns now, the start of the next phase."""
        now = time.perf_counter()
        self.add(phase, now - since)
        return now

    def frozen_phases(self) -> Mapping[str, float]:
        return MappingProxyType(dict(self.phases))


def split_host_port(target: str) -> tuple[str, int]:
    """Host and port of ``host:port``, ``[v6]:port`` or a URL (default port from its scheme).

    ValueError when it is none of those; PortError, a ValueError, when its port is out of range.
    """
    text = target.strip()
    if "://" in text:
        parts = urlsplit(text)
        port = url_port(parts) or DEFAULT_PORTS.get(parts.scheme.lower())
        if not parts.hostname or port is None:
            raise ValueError("a URL target needs a host, and a port unless http or https")
        return parts.hostname, port
    parts = urlsplit(f"//{text}")
    if not parts.hostname or parts.path or parts.username is not None:
        raise ValueError("expected host:port")
    port = url_port(parts)
    if port is None:
        raise ValueError("expected host:port")
    return parts.hostname, port


def url_key(url: str) -> UrlKey | None:
    """What makes two http(s) URLs the same destination and request; None if not such a URL.

    Scheme and host compare case-insensitively and a default port equals its absence; userinfo,
    path (but a trailing slash) and query must be equal. Anything that differs is a different
    target, so the comparison errs towards refusing.
    """
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not parts.hostname or port is None:
        return None
    userinfo = parts.netloc.rpartition("@")[0]
    return (scheme, userinfo, parts.hostname, port, parts.path.rstrip("/"), parts.query)


def join_path(endpoint: str, path: str) -> str:
    """``http://host:port/base`` + ``/health``: endpoints are bases, module paths are absolute."""
    return endpoint.rstrip("/") + path

"""The http and tcp probers, as blackbox_exporter's modules, and which errors fail a probe.

http: each round trip is timed by phase (resolve, connect, tls, processing = until the first
response byte, transfer = reading the body) and the phases add up over redirects, as blackbox does.
The final response decides success: its status (2xx unless ``valid_status_codes`` says otherwise),
then the body regexps. The whole exchange keeps to the module's timeout (``network.Deadline``), and
a body longer than ``body_size_limit`` fails the probe, as in blackbox.

tcp: blackbox's tcp module without query/response: connect, optionally TLS.
"""

import base64
import http.client
import re
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

from collectors.probes.network import Connection, Deadline, DeadlineSocket, Dialer
from collectors.probes.targets import DEFAULT_PORTS, ProbeResult, Trace, split_host_port
from exporter import __version__
from exporter.redact import redact_text
from exporter.upstream import format_size

# Network, TLS and timeout errors are OSErrors; a malformed answer is an HTTPException; a URL or
# header that cannot be encoded is a ValueError. Anything else is a bug and is left to surface.
PROBE_ERRORS: tuple[type[Exception], ...] = (OSError, http.client.HTTPException, ValueError)
_MAX_FAILURE_CHARS = 200

USER_AGENT = f"skyserve-exporter/{__version__}"
MAX_REDIRECTS = 10  # as blackbox (Go's default client policy)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_READ_CHUNK = 64 * 1024
# Kept for the body regexps; the rest is still read (and timed) but not held in memory.
_KEPT_BODY_BYTES = 16 * 1024 * 1024


def _timed(prober: str, exchange: Callable[[Trace], str]) -> ProbeResult:
    """One probe as a result: ``exchange`` returns why it failed (empty when it passed), and an error
    of PROBE_ERRORS is a failure too, never raised."""
    started = time.perf_counter()
    trace = Trace()
    try:
        failure = exchange(trace)
    except PROBE_ERRORS as exc:
        failure = describe_failure(exc)
    return ProbeResult(
        prober=prober,
        success=not failure,
        duration=time.perf_counter() - started,
        status_code=trace.status_code,
        # The phases are probe_http_duration_seconds': a tcp result has none.
        phases=trace.frozen_phases() if prober == "http" else MappingProxyType({}),
        cert_expiry=trace.cert_expiry,
        failure=failure,
    )


def describe_failure(exc: BaseException) -> str:
    """Why a probe failed, for debug logs: one short line, with secrets redacted."""
    text = redact_text(" ".join(f"{type(exc).__name__}: {exc}".split()))
    return text if len(text) <= _MAX_FAILURE_CHARS else text[: _MAX_FAILURE_CHARS - 3] + "..."


@dataclass(frozen=True)
class HttpRequest:
    url: str
    method: str
    body: bytes = b""

    def redirected(self, status: int, location: str) -> "HttpRequest":
        """The next request, as Go's client makes it: 301/302/303 turn into a bodiless GET."""
        url = urljoin(self.url, location)
        if status in (301, 302, 303) and self.method not in ("GET", "HEAD"):
            return HttpRequest(url, "GET")
        return HttpRequest(url, self.method, self.body)


@dataclass(frozen=True)
class HttpSettings:
    """A compiled http module: everything resolved (headers from the environment, regexps)."""

    method: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    valid_status_codes: frozenset[int]
    fail_if_body_matches: tuple[re.Pattern[bytes], ...]
    fail_if_body_not_matches: tuple[re.Pattern[bytes], ...]
    follow_redirects: bool
    dialer: Dialer
    body_size_limit: int

    def probe(self, url: str, timeout: float) -> ProbeResult:
        request = HttpRequest(url, self.method, self.body)
        return _timed("http", lambda trace: self._exchange(request, Deadline(timeout), trace))

    def verdict(self, status: int, body: bytes) -> str:
        """Why the final response fails the probe; empty when it passes."""
        accepted = status in self.valid_status_codes if self.valid_status_codes else 200 <= status <= 299
        if not accepted:
            return f"status {status} is not accepted"
        for pattern in self.fail_if_body_matches:
            if pattern.search(body):
                return f"body matched {pattern.pattern!r}"
        for pattern in self.fail_if_body_not_matches:
            if not pattern.search(body):
                return f"body did not match {pattern.pattern!r}"
        return ""

    def _exchange(self, request: HttpRequest, deadline: Deadline, trace: Trace) -> str:
        first_netloc = urlsplit(request.url).netloc
        redirects = 0
        while True:
            # Only the final round trip's answer counts: a later failure leaves no status.
            trace.status_code, trace.cert_expiry = 0, None
            parts = _http_url(request.url)
            host, port = parts.hostname or "", parts.port or DEFAULT_PORTS[parts.scheme]
            use_tls, same_host = parts.scheme == "https", parts.netloc == first_netloc
            connection = self.dialer.open(host, port, use_tls, deadline, trace=trace, sni=same_host)
            with closing(connection.sock):
                response, first_byte = self._send(connection, request, parts, deadline, trace)
                with closing(response):
                    location = response.getheader("Location")
                    if self._follows(response.status, location, redirects) and location:
                        request = request.redirected(response.status, location)
                        redirects += 1
                        continue
                    body = _read_body(response, self.body_size_limit, keep=self._reads_body)
                    trace.lap("transfer", first_byte)
                    return self.verdict(response.status, body)

    def _send(
        self,
        connection: Connection,
        request: HttpRequest,
        parts: SplitResult,
        deadline: Deadline,
        trace: Trace,
    ) -> tuple[http.client.HTTPResponse, float]:
        """Send the request and read the response head; returns it and when its first byte came."""
        connection.sock.settimeout(deadline.remaining())
        connection.sock.sendall(self._head(request, parts) + request.body)
        reader = DeadlineSocket(connection.sock, deadline)
        response = http.client.HTTPResponse(reader.as_socket(), method=request.method)
        response.begin()
        first_byte = reader.first_byte_at or time.perf_counter()
        trace.add("processing", first_byte - connection.ready_at)
        trace.status_code, trace.cert_expiry = response.status, connection.cert_expiry
        return response, first_byte

    def _follows(self, status: int, location: str | None, redirects: int) -> bool:
        return (
            self.follow_redirects
            and status in _REDIRECT_STATUSES
            and bool(location)
            and redirects < MAX_REDIRECTS
        )

    @property
    def _reads_body(self) -> bool:
        return bool(self.fail_if_body_matches or self.fail_if_body_not_matches)

    def _head(self, request: HttpRequest, parts: SplitResult) -> bytes:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if any(c.isspace() for c in target):
            raise ValueError("the URL's path or query contains whitespace")
        headers = {name.lower(): (name, value) for name, value in _default_headers(request, parts)}
        headers.update({name.lower(): (name, value) for name, value in self.headers})
        headers["connection"] = ("Connection", "close")  # one request per connection, as timed
        lines = [f"{request.method} {target} HTTP/1.1", *(f"{n}: {v}" for n, v in headers.values())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _http_url(url: str) -> SplitResult:
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError("not an http:// or https:// URL with a host")
    return parts


def _default_headers(request: HttpRequest, parts: SplitResult) -> list[tuple[str, str]]:
    headers = [
        ("Host", parts.netloc.rpartition("@")[2]),
        ("User-Agent", USER_AGENT),
        ("Accept", "*/*"),
    ]
    if parts.username is not None:
        # Credentials in the URL mean basic auth, as in Go's client (and SkyServe's endpoints).
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers.append(("Authorization", "Basic " + base64.b64encode(pair.encode()).decode()))
    if request.body or request.method in ("POST", "PUT", "PATCH"):
        headers.append(("Content-Length", str(len(request.body))))
    return headers


def _read_body(response: http.client.HTTPResponse, limit: int, keep: bool) -> bytes:
    kept = bytearray()
    size = 0
    while chunk := response.read(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise http.client.HTTPException(f"the body is larger than body_size_limit ({format_size(limit)})")
        if keep and len(kept) < _KEPT_BODY_BYTES:
            kept += chunk[: _KEPT_BODY_BYTES - len(kept)]
    return bytes(kept)


@dataclass(frozen=True)
class TcpSettings:
    dialer: Dialer
    tls: bool

    def probe(self, target: str, timeout: float) -> ProbeResult:
        """Success when the connection (and handshake) completes. ``target``: host:port or a URL."""
        return _timed("tcp", lambda trace: self._connect(target, timeout, trace))

    def _connect(self, target: str, timeout: float, trace: Trace) -> str:
        host, port = split_host_port(target)
        connection = self.dialer.open(host, port, self.tls, Deadline(timeout), trace=trace)
        connection.sock.close()
        trace.cert_expiry = connection.cert_expiry
        return ""

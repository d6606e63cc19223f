"""Reaching a target: resolve, connect, TLS handshake and reading, within the probe's deadline.

Resolve, connect and the handshake are each timed as their own phase, like blackbox's trace; the
certificate expiry is read from what the peer presented during the handshake.
"""

import calendar
import io
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from collectors.probes.config import TLSConfig
from collectors.probes.targets import Trace


class Deadline:
    """The time left for one probe; every blocking call gets what remains, not a fresh timeout."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("probe timed out")
        return left


def tls_context(config: TLSConfig) -> ssl.SSLContext:
    """A client context: system roots, or only ``ca_file`` when given (as blackbox's ca_file)."""
    cafile = str(config.ca_file) if config.ca_file is not None else None
    context = ssl.create_default_context(cafile=cafile)
    if config.cert_file is not None:
        key = str(config.key_file) if config.key_file is not None else None
        context.load_cert_chain(str(config.cert_file), key)
    if config.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True)
class Connection:
    sock: socket.socket
    ready_at: float  # perf_counter() when the connection (and handshake) was done
    cert_expiry: float | None = None


@dataclass(frozen=True)
class Dialer:
    """How a module reaches a host: address family preference and TLS settings."""

    preferred_ip_protocol: str  # ip4 | ip6
    ip_protocol_fallback: bool
    tls: ssl.SSLContext
    server_name: str | None = None

    def open(
        self, host: str, port: int, use_tls: bool, deadline: Deadline, *, trace: Trace, sni: bool = True
    ) -> Connection:
        """Resolve, connect and (``use_tls``) shake hands, adding each phase to ``trace``.

        ``sni`` False drops a configured ``server_name`` (blackbox does so after a redirect to
        another host): the host itself is used.
        """
        started = time.perf_counter()
        family, address = self.resolve(host, port)
        resolved = trace.lap("resolve", started)
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(deadline.remaining())
            sock.connect(address)
            connected = trace.lap("connect", resolved)
            if not use_tls:
                return Connection(sock, connected)
            name = self.server_name if sni and self.server_name else host
            secure = self.tls.wrap_socket(sock, server_hostname=name, do_handshake_on_connect=False)
            sock = secure
            secure.settimeout(deadline.remaining())
            secure.do_handshake()
            return Connection(secure, trace.lap("tls", connected), earliest_expiry(secure))
        except BaseException:
            sock.close()
            raise

    def resolve(self, host: str, port: int) -> tuple[socket.AddressFamily, Any]:
        """One address, of the preferred family if there is one (blackbox's chooseProtocol).

        The lookup is not bounded by the probe's deadline: getaddrinfo cannot be interrupted.
        """
        preferred = socket.AF_INET6 if self.preferred_ip_protocol == "ip6" else socket.AF_INET
        family = socket.AF_UNSPEC if self.ip_protocol_fallback else preferred
        found = socket.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
        for info in found:
            if info[0] == preferred:
                return info[0], info[4]
        if not found:
            raise OSError(f"no address for {host}")
        return found[0][0], found[0][4]


# Reading. http.client reads a response through ``sock.makefile("rb")``; a socket timeout would
# restart at every read, so a server that trickles a byte at a time could hold a probe far past its
# timeout. Here every read gets only the time that is left, and notes when the first byte arrived.


class _DeadlineRaw(io.RawIOBase):
    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline
        self.first_byte_at: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self._sock.settimeout(self._deadline.remaining())
        count = self._sock.recv_into(buffer)
        if count and self.first_byte_at is None:
            self.first_byte_at = time.perf_counter()
        return count


class DeadlineSocket:
    """Stands in for the socket handed to ``http.client.HTTPResponse``, which only calls makefile."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self._raw = _DeadlineRaw(sock, deadline)

    def makefile(self, mode: str) -> io.BufferedReader:
        if mode != "rb":
            raise ValueError(f"only 'rb' is supported, got {mode!r}")
        return io.BufferedReader(self._raw)

    @property
    def first_byte_at(self) -> float | None:
        return self._raw.first_byte_at

    def as_socket(self) -> socket.socket:
        """For http.client's annotation: it uses nothing but ``makefile``."""
        return cast(socket.socket, self)


# Certificate expiry, with no dependency beyond the stdlib. ``getpeercert()`` is empty when
# verification is off, and ``cryptography`` is not a runtime dependency, so the notAfter field is
# read from the DER encoding directly: it sits at a fixed place in every X.509 certificate
# (RFC 5280 §4.1).

_SEQUENCE = 0x30
_EXPLICIT_VERSION = 0xA0
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18


def earliest_expiry(sock: ssl.SSLSocket) -> float | None:
    """The earliest notAfter among the certificates the peer presented.

    blackbox_exporter takes the minimum over the whole chain the server sent. Python exposes
    that chain only from 3.13 (``get_unverified_chain``); before, only the leaf is visible,
    which is the same whenever the leaf expires first, as it usually does.
    """
    return min((not_after(der) for der in _presented(sock)), default=None)


def _presented(sock: ssl.SSLSocket) -> Sequence[bytes]:
    chain = getattr(sock, "get_unverified_chain", None)
    if chain is not None:
        return [bytes(der) for der in chain() or []]
    leaf = sock.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def not_after(der: bytes) -> float:
    """Unix time of the certificate's notAfter; ValueError if ``der`` is not an X.509 certificate."""
    certificate, _ = _expect(der, 0, _SEQUENCE)
    offset, _ = _expect(der, certificate, _SEQUENCE)  # tbsCertificate
    tag, _, end = _element(der, offset)
    if tag == _EXPLICIT_VERSION:
        offset = end
    for _field in ("serialNumber", "signature", "issuer"):
        offset = _element(der, offset)[2]
    validity, _ = _expect(der, offset, _SEQUENCE)
    not_before_end = _element(der, validity)[2]
    tag, start, end = _element(der, not_before_end)
    return _time(tag, der[start:end].decode("ascii"))


def _element(der: bytes, offset: int) -> tuple[int, int, int]:
    """Tag, content start and content end of the DER element at ``offset``."""
    if offset + 2 > len(der):
        raise ValueError("truncated certificate")
    tag, length, start = der[offset], der[offset + 1], offset + 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    if start + length > len(der):
        raise ValueError("truncated certificate")
    return tag, start, start + length


def _expect(der: bytes, offset: int, tag: int) -> tuple[int, int]:
    found, start, end = _element(der, offset)
    if found != tag:
        raise ValueError(f"unexpected DER tag {found:#x}, wanted {tag:#x}")
    return start, end


def _time(tag: int, text: str) -> float:
    if tag == _UTC_TIME:
        # RFC 5280: two-digit years 50-99 are 19xx, 00-49 are 20xx.
        century = "19" if int(text[:2]) >= 50 else "20"
        text = century + text
    elif tag != _GENERALIZED_TIME:
        raise ValueError(f"unexpected time tag {tag:#x}")
    if not text.endswith("Z"):
        raise ValueError("certificate time is not in UTC")
    return float(calendar.timegm(time.strptime(text[:-1], "%Y%m%d%H%M%S")))

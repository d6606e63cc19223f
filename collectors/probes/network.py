"""Resolving, connecting and the TLS handshake, each timed as its own phase like blackbox's trace."""

import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

from collectors.probes.certs import earliest_expiry
from collectors.probes.config import TLSConfig
from collectors.probes.model import Deadline, Trace


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

"""Certificates on disk and real TLS handshakes on 127.0.0.1 for the web config tests."""

from __future__ import annotations

import asyncio
import ssl
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trustme

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "docs" / "examples" / "web"
DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Pki:
    """A CA, a server certificate for 127.0.0.1 and localhost, and client certificates, as files."""

    directory: Path
    ca: trustme.CA
    other_ca: trustme.CA

    @classmethod
    def create(cls, directory: Path) -> Pki:
        pki = cls(directory, trustme.CA(), trustme.CA())
        pki.ca.cert_pem.write_to_path(str(directory / "ca.pem"))
        pki.other_ca.cert_pem.write_to_path(str(directory / "other-ca.pem"))
        pki.write_server("server", pki.ca)
        pki.write_server("other-server", pki.other_ca)
        return pki

    def write_server(self, name: str, ca: trustme.CA) -> trustme.LeafCert:
        cert = ca.issue_cert("127.0.0.1", "localhost")
        cert.cert_chain_pems[0].write_to_path(str(self.directory / f"{name}.pem"))
        cert.private_key_pem.write_to_path(str(self.directory / f"{name}.key"))
        return cert

    def client(self, ca: trustme.CA | None = None) -> trustme.LeafCert:
        return (ca or self.ca).issue_cert("client@example.com")


def write_config(directory: Path, text: str, name: str = "web.yml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


# Unindented, so that a test can append "  key: value" lines.
TLS_ONLY = """\
tls_server_config:
  cert_file: server.pem
  key_file: server.key
"""

MTLS = """\
tls_server_config:
  cert_file: server.pem
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.pem
"""


def client_context(
    trust: trustme.CA | list[trustme.CA],
    cert: trustme.LeafCert | None = None,
    *,
    maximum: ssl.TLSVersion | None = None,
    minimum: ssl.TLSVersion | None = None,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for ca in trust if isinstance(trust, list) else [trust]:
        ca.configure_trust(ctx)
    if cert is not None:
        cert.configure_cert(ctx)
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


@dataclass(frozen=True)
class Handshake:
    """What a client saw: ``error`` is None when it could exchange data with the server."""

    error: str | None
    peer_der: bytes = b""
    version: str | None = None
    cipher: str | None = None
    alpn: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def der(cert: trustme.LeafCert) -> bytes:
    return ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())


def der_of_file(path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(path.read_text())


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        writer.write(b"pong")
        await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def _connect(port: int, client_ctx: ssl.SSLContext, server_hostname: str | None) -> Handshake:
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=client_ctx, server_hostname=server_hostname), 5
        )
    except (OSError, ssl.SSLError, TimeoutError) as exc:
        return Handshake(f"{type(exc).__name__}: {exc}")
    obj = writer.get_extra_info("ssl_object")
    try:
        # A server refusing a TLS 1.3 client's certificate does so after the client has finished.
        data = await asyncio.wait_for(reader.read(), 5)
    except (OSError, ssl.SSLError, TimeoutError) as exc:
        data = f"{type(exc).__name__}: {exc}".encode()
    writer.close()
    return Handshake(
        None if data == b"pong" else f"no answer: {data!r}",
        obj.getpeercert(binary_form=True) or b"",
        obj.version(),
        (obj.cipher() or ("",))[0],
        obj.selected_alpn_protocol(),
    )


def handshakes(
    server_ctx: ssl.SSLContext,
    clients: list[ssl.SSLContext],
    *,
    server_hostname: str | None = "localhost",
    between: Callable[[], object] | None = None,
) -> list[Handshake]:
    """One connection per client context to one server, calling ``between`` between connections.

    The client checks the name ``localhost`` by default; an IP address ("127.0.0.1") sends no SNI.
    """

    async def run() -> list[Handshake]:
        server = await asyncio.start_server(_answer, "127.0.0.1", 0, ssl=server_ctx, ssl_handshake_timeout=5)
        port = server.sockets[0].getsockname()[1]
        results: list[Handshake] = []
        try:
            for index, client_ctx in enumerate(clients):
                if index and between is not None:
                    between()
                results.append(await _connect(port, client_ctx, server_hostname))
        finally:
            server.close()
            await server.wait_closed()
        return results

    return asyncio.run(run())


def handshake(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, *, server_hostname: str | None = "localhost"
) -> Handshake:
    return handshakes(server_ctx, [client_ctx], server_hostname=server_hostname)[0]

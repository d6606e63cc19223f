"""Loopback HTTP(S) servers with the answers probes must tell apart, and certificates from trustme."""

import datetime
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

import trustme

# 2031-05-17 12:34:56 UTC: a notAfter the tests know in advance.
NOT_AFTER = datetime.datetime(2031, 5, 17, 12, 34, 56, tzinfo=datetime.UTC)
SLOW_SECONDS = 3.0
BIG_BODY_BYTES = 4 * 2**20  # what /big answers with


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.seen.append((self.command, self.path, dict(self.headers.items()), b""))
        route = self.path.split("?")[0]
        if route == "/slow":
            self.server.released.wait(SLOW_SECONDS)
        if route == "/trickle":
            self._trickle()
            return
        if route == "/big":
            self._big()
            return
        status, body, headers = _ROUTES.get(route, (404, b"not found\n", {}))
        self._answer(status, body, headers)

    def do_HEAD(self) -> None:
        self.server.seen.append((self.command, self.path, dict(self.headers.items()), b""))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.seen.append((self.command, self.path, dict(self.headers.items()), body))
        self._answer(*_ROUTES.get(self.path, (200, b"posted", {})))

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _big(self) -> None:
        """``BIG_BODY_BYTES`` in 64 KiB pieces, until the client hangs up."""
        self.send_response(200)
        self.send_header("Content-Length", str(BIG_BODY_BYTES))
        self.end_headers()
        piece = b"x" * 2**16
        for _ in range(BIG_BODY_BYTES // len(piece)):
            self.wfile.write(piece)

    def _trickle(self) -> None:
        """Headers at once, then a byte every 0.3 s: each read is quick, the whole is not."""
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        for _ in range(100):
            if self.server.released.wait(0.3):
                return
            self.wfile.write(b"x")
            self.wfile.flush()


_ROUTES: dict[str, tuple[int, bytes, dict[str, str]]] = {
    "/ok": (200, b"ok", {}),
    "/slow": (200, b"finally", {}),
    "/healthy": (200, b"status: ok", {}),
    "/degraded": (200, b"status: degraded", {}),
    "/notfound": (404, b"not found", {}),
    "/error": (500, b"boom", {}),
    "/redirect": (302, b"", {"Location": "/ok"}),
    "/see-other": (303, b"", {"Location": "/ok"}),
    "/loop": (302, b"", {"Location": "/loop"}),
    "/to-error": (301, b"", {"Location": "/error"}),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        self.released = threading.Event()
        if tls is not None:
            # The handshake happens on first read, in the handler thread, not in accept().
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that fail the handshake or hang up early are what the tests do


class LoopbackServer:
    """``with LoopbackServer() as server:`` then probe ``server.url("/ok")``."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._server = _Server(tls)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self.scheme = "https" if tls is not None else "http"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def seen(self) -> list[tuple[str, str, dict[str, str], bytes]]:
        """(method, path, headers, body) of every request received."""
        return self._server.seen

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(2)


class Certificates:
    """A private CA and a server certificate for 127.0.0.1 expiring at ``NOT_AFTER``."""

    def __init__(self, directory: Path, not_after: datetime.datetime = NOT_AFTER) -> None:
        self.ca = trustme.CA()
        self.leaf = self.ca.issue_cert("127.0.0.1", not_after=not_after)
        self.ca_file = directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.expiry = not_after.timestamp()

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.leaf.configure_cert(context)
        return context

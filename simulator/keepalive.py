"""HTTP/1.1 keep-alive for the simulated API server, as uvicorn serves the real one.

SkyPilot 0.14.1 runs its API server under uvicorn and builds the ``uvicorn.Config`` without
``timeout_keep_alive`` (sky/server/server.py), so uvicorn's default applies: a connection stays
open after each response and is closed once it has been idle for 5 seconds
(uvicorn/protocols/http/h11_impl.py ``on_response_complete``; there is no limit on the wait for a
connection's first request). On shutdown uvicorn closes idle connections at once and lets busy ones
finish their response with ``Connection: close``.

werkzeug's development server cannot do this: it cannot tell where a request ends in the stream,
so it drains the socket after every response and answers ``Connection: close``. A client that pools
connections then never meets a connection the server dropped while it sat in the pool, which is
the case that breaks clients in production. This handler frames every request body by its
``Content-Length`` and every response by ``Content-Length`` or chunked encoding, so one connection
can carry request after request.
"""

import contextlib
import socket
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import ThreadedWSGIServer
from werkzeug.wsgi import LimitedStream

from simulator.handler import MAX_READ_BYTES, CappedReader, QuietHandler

DEFAULT_KEEP_ALIVE_TIMEOUT: Final = 5.0  # uvicorn.Config(timeout_keep_alive=5)
_UNFRAMED_STATUSES: Final = frozenset({204, 304})


@dataclass(frozen=True)
class ConnectionCounts:
    """Connections the server accepted, and those it closed for sitting idle past the timeout."""

    opened: int = 0
    idled_out: int = 0


class KeepAliveServer(ThreadedWSGIServer):
    """werkzeug's threaded server with keep-alive handlers, and a way to drop idle connections."""

    # Never wait for in-flight handler threads on close: a hung one must not block stop().
    block_on_close = False

    def __init__(self, host: str, port: int, app: Any, keep_alive_timeout: float) -> None:
        if keep_alive_timeout <= 0:
            raise ValueError("keep_alive_timeout must be > 0")
        self.keep_alive_timeout = keep_alive_timeout
        self._lock = threading.Lock()
        self._idle: set[socket.socket] = set()
        self._closing = False
        self._counts = ConnectionCounts()
        super().__init__(host, port, app, handler=KeepAliveHandler)

    @property
    def closing(self) -> bool:
        with self._lock:
            return self._closing

    @property
    def counts(self) -> ConnectionCounts:
        with self._lock:
            return self._counts

    def opened(self) -> None:
        with self._lock:
            self._counts = ConnectionCounts(self._counts.opened + 1, self._counts.idled_out)

    def idled_out(self) -> None:
        with self._lock:
            self._counts = ConnectionCounts(self._counts.opened, self._counts.idled_out + 1)

    def wait_idle(self, connection: socket.socket) -> bool:
        """Mark ``connection`` idle; False when the server is closing and it should just close."""
        with self._lock:
            if self._closing:
                return False
            self._idle.add(connection)
            return True

    def done_idle(self, connection: socket.socket) -> None:
        with self._lock:
            self._idle.discard(connection)

    def close_idle(self) -> None:
        """From now on close connections after their response, and close the idle ones now."""
        with self._lock:
            self._closing = True
            idle = list(self._idle)
        for connection in idle:
            # Wakes the handler's blocked read with EOF; its thread then closes the socket.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class KeepAliveHandler(QuietHandler):
    """Serves requests on one connection until the client closes it or it idles out."""

    protocol_version = "HTTP/1.1"
    server: KeepAliveServer

    def setup(self) -> None:
        super().setup()
        assert isinstance(self.rfile, CappedReader)
        self._reader: CappedReader = self.rfile
        # Head and body go out in separate writes; without this, Nagle's algorithm holds the body
        # back for the client's delayed ACK (about 40 ms) on every reused connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        return "uvicorn"

    def handle(self) -> None:
        self.server.opened()
        self.close_connection = False
        served = False
        with contextlib.suppress(ConnectionError, TimeoutError):
            while not self.close_connection and self._next_request_arrives(served):
                self.handle_one_request()
                served = True

    def _next_request_arrives(self, served: bool) -> bool:
        """Wait for the next request's first byte, within the keep-alive timeout after a response."""
        if not self.server.wait_idle(self.connection):
            return False
        try:
            self.connection.settimeout(self.server.keep_alive_timeout if served else None)
            # A pipelined request may already sit in the buffer; peek returns it without a read.
            return bool(self._reader.peek(1))
        except TimeoutError:
            self.server.idled_out()
            return False
        except OSError:  # close_idle's shutdown, or the client's reset
            return False
        finally:
            self.server.done_idle(self.connection)
            with contextlib.suppress(OSError):
                self.connection.settimeout(None)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        body: LimitedStream | None = None
        if environ.get("wsgi.input_terminated"):
            # A chunked request body: werkzeug's reader finds its end but not in a way this handler
            # can check, so the connection ends with this request.
            self.close_connection = True
        else:
            length = _content_length(environ.get("CONTENT_LENGTH"))
            if length is None:
                self.close_connection = True
            body = LimitedStream(self._reader, length or 0)
            environ["wsgi.input"] = body
        if self.request_version != "HTTP/1.1" or self.server.closing:
            self.close_connection = True
        response = _Response(self, head_only=environ["REQUEST_METHOD"] == "HEAD")
        try:
            _run(self.server.app, environ, response)
        except (ConnectionError, TimeoutError, ClientDisconnected):
            self.close_connection = True
            return
        except Exception:  # the app's bug: answer 500 if still possible, as werkzeug does
            self.close_connection = True
            self.log_error("error on request:\n%s", traceback.format_exc())
            if not response.started:
                _run(_internal_error, environ, _Response(self, head_only=False))
            return
        if body is not None and not self.close_connection:
            _skip_unread(body, self)


class _Response:
    """One response on the wire: head on the first write, then the body, framed."""

    def __init__(self, handler: KeepAliveHandler, head_only: bool) -> None:
        self._handler = handler
        self._head_only = head_only
        self._status = ""
        self._headers: list[tuple[str, str]] = []
        self._chunked = False
        self._bodyless = head_only
        self.started = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None and self.started:
            raise exc_info[1].with_traceback(exc_info[2])
        self._status, self._headers = status, headers
        return self.write

    def write(self, data: bytes) -> None:
        if not self.started:
            self._send_head()
        if not data or self._bodyless:
            return
        wfile = self._handler.wfile
        if self._chunked:
            wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        else:
            wfile.write(data)

    def finish(self) -> None:
        if not self.started:
            self._send_head()
        if self._chunked:
            self._handler.wfile.write(b"0\r\n\r\n")
        self._handler.wfile.flush()

    def _send_head(self) -> None:
        self.started = True
        handler = self._handler
        code = int(self._status.split(None, 1)[0])
        # The standard reason phrase, as uvicorn sends, not werkzeug's upper-cased one.
        handler.send_response(code)
        names = set()
        for name, value in self._headers:
            handler.send_header(name, value)
            names.add(name.lower())
        self._bodyless = self._head_only or code < 200 or code in _UNFRAMED_STATUSES
        if not self._bodyless and "content-length" not in names:
            self._chunked = True
            handler.send_header("Transfer-Encoding", "chunked")
        if handler.close_connection:
            handler.send_header("Connection", "close")
        handler.end_headers()


def _run(app: Any, environ: dict[str, Any], response: _Response) -> None:
    chunks: Iterable[bytes] = app(environ, response.start_response)
    try:
        for chunk in chunks:
            response.write(chunk)
        response.finish()
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _internal_error(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = b"Internal Server Error"
    start_response(
        "500 Internal Server Error", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    )
    return [body]


def _content_length(value: str | None) -> int | None:
    """The declared body length; 0 when absent, None when it cannot be trusted."""
    if value is None or value == "":
        return 0
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


def _skip_unread(body: LimitedStream, handler: KeepAliveHandler) -> None:
    """Read past what the app left of the body, so the next read starts at the next request."""
    try:
        while body.read(MAX_READ_BYTES):
            pass
    except (ConnectionError, TimeoutError, ClientDisconnected):
        handler.close_connection = True

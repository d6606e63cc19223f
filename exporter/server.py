"""The HTTP server: one process, an asyncio loop owning every connection, the app on a thread pool.

Connections cost a few kilobytes each, not a thread, so a thousand idle ones cannot starve a
scrape. Every connection is on a clock, as Go's ``http.Server`` puts it with ``ReadHeaderTimeout``
and ``IdleTimeout``: a request head must arrive in full within ``read_header_timeout`` of its first
byte (of the accept, for a new connection), a keep-alive connection may wait ``idle_timeout`` for
its next request, and a response must be taken within ``write_timeout``. Past
``max_connections`` the connection idle the longest is closed to make room. Requests are parsed by
h11; the app only ever sees requests that arrived whole.

The app (Flask) runs on a pool of ``threads``. Requests for the routes collectors offer (``/probe``)
run on a pool of their own, ``max_probes`` at a time (``exporter/routes.py``): a probe waits on the
network for up to its timeout, and waiting there it holds none of the threads that answer
``/metrics``. Past ``max_probes`` a request gets a 503 at once, as a queue would only make every
probe late; the client's retry at the next scrape is the queue.
"""

import asyncio
import contextlib
import logging
import resource
import signal
import socket
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any

import h11

from exporter.collector import Route
from exporter.routes import Routes, call_route, plain, route_for
from exporter.webauth import parse_basic_authorization
from exporter.webconfig import WebConfigWatcher
from exporter.wsgi import Answer, Peer, WSGIApp, call_app

_READ_BYTES = 64 * 1024
# Responses go out in slices, each awaited, so a client that reads slowly holds at most about two
# slices of buffer instead of a copy of the whole exposition.
_WRITE_SLICE_BYTES = 64 * 1024
_SERVER_HEADER = (b"server", b"skyserve-exporter")
_FRAMING_HEADERS = (b"content-length", b"transfer-encoding")  # the server frames every answer
_STOP_GRACE_SECONDS = 3.0
# How often the listener is checked against the web config (the config itself is re-read at most
# once a second, on use).
_WEB_CONFIG_CHECK_SECONDS = 1.0
# exporter-toolkit's answer: a bare challenge and the status text.
_UNAUTHORIZED = Answer(
    status=401,
    reason=b"Unauthorized",
    headers=[(b"content-type", b"text/plain; charset=utf-8"), (b"www-authenticate", b"Basic")],
    chunks=[b"Unauthorized\n"],
)


class ListenAddressError(ValueError):
    pass


@dataclass(frozen=True)
class ServerLimits:
    read_header_timeout: float = 5.0
    idle_timeout: float = 120.0
    write_timeout: float = 60.0
    max_connections: int = 2048
    max_header_bytes: int = 16 * 1024
    max_body_bytes: int = 64 * 1024
    # The app's threads: /metrics and the console only join bytes they already have.
    threads: int = 32
    # Collector routes (/probe) answered at once, each on a thread that mostly waits.
    max_probes: int = 256


def parse_listen_address(address: str) -> tuple[str, int]:
    """``host:port``, ``:port`` (every interface) or ``[v6]:port``."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ListenAddressError(f"--web.listen-address: expected HOST:PORT or :PORT, got {address!r}")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port_text)


class _State(Enum):
    HEAD = "reading a request head"
    IDLE = "idle between requests"
    BUSY = "answering"


class _Connection:
    __slots__ = ("state", "transport")

    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self.transport = transport
        self.state = _State.HEAD


class HTTPServer:
    """Binds at construction (so a taken port fails before anything starts); serves until signalled."""

    def __init__(
        self,
        app: WSGIApp,
        address: str,
        logger: logging.Logger,
        limits: ServerLimits = ServerLimits(),
        web: WebConfigWatcher | None = None,
        *,
        routes: Routes | None = None,
    ) -> None:
        """``web``: the ``--web.config.file`` (TLS, basic auth, headers), re-read when it changes;
        ``routes``: the routes the running collectors offer, answered apart from the app."""
        self._app = app
        self._routes = routes
        self._logger = logger
        self._limits = limits
        self._web = web
        self._socket = _bind(*parse_listen_address(address))
        self._connections: dict[_Connection, None] = {}  # insertion order: oldest first
        self._pool = ThreadPoolExecutor(max_workers=limits.threads, thread_name_prefix="http")
        self._route_pool = ThreadPoolExecutor(max_workers=limits.max_probes, thread_name_prefix="route")
        # Taken on the loop, given back by the thread that ran the route: never more routes
        # running than the pool has threads, so none waits in its queue.
        self._route_slots = threading.BoundedSemaphore(limits.max_probes)
        self._busy = plain(503, f"probe limit reached ({limits.max_probes} at once): try again later")
        # bcrypt runs one at a time anyway: a flood of new passwords queues here, not in the pool
        # that answers scrapes.
        self._bcrypt = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bcrypt")
        self._listening_tls: ssl.SSLContext | None = None
        self._stopping: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    def serve_until_signalled(self, on_hangup: Callable[[], object] | None = None) -> None:
        """Serve until SIGTERM or SIGINT; SIGHUP calls ``on_hangup`` (the process never dies of it)."""
        self.run(signals=True, on_hangup=on_hangup)

    def run(self, signals: bool = False, on_hangup: Callable[[], object] | None = None) -> None:
        """Serve until ``stop()`` (or a signal, with ``signals``: only in the main thread)."""
        _raise_open_files_limit()
        try:
            asyncio.run(self._serve(signals, on_hangup))
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._route_pool.shutdown(wait=False, cancel_futures=True)
            self._bcrypt.shutdown(wait=False, cancel_futures=True)
            self._socket.close()

    def stop(self) -> None:
        """Stop serving; callable from any thread."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            loop.call_soon_threadsafe(stopping.set)

    async def _serve(self, signals: bool, on_hangup: Callable[[], object] | None) -> None:
        loop = self._loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_exception)
        stopping = self._stopping = asyncio.Event()
        if signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self._stop, signum)
            loop.add_signal_handler(signal.SIGHUP, self._hangup, on_hangup)
        listener = await self._listen()
        try:
            while not stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), _WEB_CONFIG_CHECK_SECONDS)
                if self._web is not None and self._web.listener_outdated(self._listening_tls):
                    # TLS switched on or off, or a setting a handshake cannot swap in changed.
                    listener.close()
                    listener = await self._listen()
        finally:
            listener.close()
            await self._drain_connections()

    async def _listen(self) -> asyncio.Server:
        """Listen with the web config's current TLS context; on a duplicate of the bound socket,
        so that listening anew after a change keeps the port."""
        context = self._web.ssl_context() if self._web is not None else None
        if context is not None and self._web is not None:
            # Each handshake gets the context of the files as they are now: a rotated certificate
            # needs no restart.
            context.sni_callback = self._web.sni_callback
        self._listening_tls = context
        return await asyncio.start_server(
            self._accept,
            sock=self._socket.dup(),
            ssl=context,
            ssl_handshake_timeout=self._limits.read_header_timeout if context is not None else None,
            limit=_READ_BYTES,
        )

    def _stop(self, signum: int) -> None:
        self._logger.info("stopping", extra={"signal": signal.Signals(signum).name})
        if self._stopping is not None:
            self._stopping.set()

    def _hangup(self, on_hangup: Callable[[], object] | None) -> None:
        loop = asyncio.get_running_loop()
        # Off the loop: a reload reads files and may take a moment.
        if self._web is not None:
            loop.run_in_executor(self._pool, self._web.reload)
        if on_hangup is not None:
            loop.run_in_executor(self._pool, on_hangup)
        elif self._web is None:
            self._logger.info("SIGHUP received and ignored: there is nothing to reload")

    async def _drain_connections(self) -> None:
        for connection in list(self._connections):
            if connection.state is not _State.BUSY:
                connection.transport.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _STOP_GRACE_SECONDS
        while self._connections and loop.time() < deadline:
            await asyncio.sleep(0.05)

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # Clients that vanish mid-handshake or mid-response are a normal day for a server.
        self._logger.debug("connection error", extra={"error": str(context.get("exception") or "")})

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Without it, the last small packet of an answer waits for the client's delayed ACK
            # (Nagle's algorithm): 40 ms on Linux.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = _Connection(writer.transport)
        if not self._admit(connection):
            writer.transport.abort()
            return
        try:
            await self._serve_connection(connection, reader, writer)
            writer.close()
        except (TimeoutError, ConnectionError, ssl.SSLError, h11.ProtocolError) as exc:
            # Dropped at once: a graceful close would wait for a client that stopped reading.
            writer.transport.abort()
            self._logger.debug("connection dropped", extra={"reason": type(exc).__name__})
        finally:
            self._connections.pop(connection, None)

    def _admit(self, connection: _Connection) -> bool:
        """Room for one more connection, made by closing the one idle the longest if need be."""
        if len(self._connections) >= self._limits.max_connections:
            oldest_idle = next((c for c in self._connections if c.state is not _State.BUSY), None)
            if oldest_idle is None:
                return False
            self._connections.pop(oldest_idle)
            oldest_idle.transport.abort()
        self._connections[connection] = None
        return True

    async def _serve_connection(
        self, connection: _Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        http = h11.Connection(h11.SERVER, max_incomplete_event_size=self._limits.max_header_bytes)
        peer = _peer(writer, writer.get_extra_info("ssl_object") is not None)
        first = True
        while True:
            try:
                request = await self._read_head(http, reader, connection, first)
                if request is None:
                    return
                body = await self._read_body(http, reader, request)
            except h11.RemoteProtocolError as exc:
                await self._refuse(http, writer, exc.error_status_hint, str(exc))
                return
            except _BodyTooLarge:
                await self._refuse(http, writer, 413, "request body too large")
                return
            connection.state = _State.BUSY
            if await self._authorized(request):
                answer = await self._answer(request, body, peer)
            else:
                answer = _UNAUTHORIZED
            await self._send(http, writer, request, answer)
            if http.our_state is not h11.DONE or http.their_state is not h11.DONE:
                return
            http.start_next_cycle()
            connection.state = _State.IDLE
            first = False

    async def _answer(self, request: h11.Request, body: bytes, peer: Peer) -> Answer:
        loop = asyncio.get_running_loop()
        route = self._route(request)
        if route is None:
            return await loop.run_in_executor(self._pool, call_app, self._app, request, body, peer)
        if not self._route_slots.acquire(blocking=False):
            return self._busy
        return await loop.run_in_executor(self._route_pool, self._run_route, route, request)

    def _route(self, request: h11.Request) -> Route | None:
        if self._routes is None:
            return None
        try:
            return route_for(request, self._routes())
        except Exception:
            # A collector's broken routes(): the app asks again and answers with its 500.
            self._logger.exception("listing the collectors' routes failed")
            return None

    def _run_route(self, route: Route, request: h11.Request) -> Answer:
        try:
            return call_route(route, request, self._logger)
        finally:
            self._route_slots.release()

    async def _read_head(
        self, http: h11.Connection, reader: asyncio.StreamReader, connection: _Connection, first: bool
    ) -> h11.Request | None:
        event = http.next_event()
        if event is h11.NEED_DATA and not first:
            # Between requests the clock is the idle timeout; once a byte arrives, the head's.
            async with asyncio.timeout(self._limits.idle_timeout):
                http.receive_data(await reader.read(_READ_BYTES))
            event = http.next_event()
        connection.state = _State.HEAD
        async with asyncio.timeout(self._limits.read_header_timeout):
            while event is h11.NEED_DATA:
                http.receive_data(await reader.read(_READ_BYTES))
                event = http.next_event()
        if not isinstance(event, h11.Request):
            return None  # ConnectionClosed, or PAUSED after a half-close
        # h11 bounds only a head still incomplete; one that arrived in a single read is checked here.
        size = len(event.target) + sum(len(name) + len(value) + 4 for name, value in event.headers)
        if size > self._limits.max_header_bytes:
            raise h11.RemoteProtocolError("request head too large", 431)
        return event

    async def _read_body(
        self, http: h11.Connection, reader: asyncio.StreamReader, request: h11.Request
    ) -> bytes:
        declared = next((v for n, v in request.headers if n == b"content-length"), b"0")
        if int(declared) > self._limits.max_body_bytes:
            raise _BodyTooLarge
        pieces: list[bytes] = []
        size = 0
        async with asyncio.timeout(self._limits.read_header_timeout):
            while True:
                event = http.next_event()
                if event is h11.NEED_DATA:
                    if http.they_are_waiting_for_100_continue:
                        raise h11.RemoteProtocolError("Expect: 100-continue is not supported", 417)
                    http.receive_data(await reader.read(_READ_BYTES))
                elif isinstance(event, h11.Data):
                    size += len(event.data)
                    if size > self._limits.max_body_bytes:
                        raise _BodyTooLarge
                    pieces.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage):
                    return b"".join(pieces)
                else:
                    raise h11.RemoteProtocolError("connection closed mid-request", 400)

    async def _authorized(self, request: h11.Request) -> bool:
        """Basic auth as exporter-toolkit does it, on every route; cached results answer at once."""
        auth = self._web.basic_auth() if self._web is not None else None
        if auth is None:
            return True
        header = next((v for n, v in request.headers if n == b"authorization"), None)
        credentials = parse_basic_authorization(header)
        if credentials is None:
            return False
        known = auth.cached(credentials.user, credentials.password)
        if known is not None:
            return known
        return await asyncio.get_running_loop().run_in_executor(self._bcrypt, auth.check, credentials)

    async def _send(
        self, http: h11.Connection, writer: asyncio.StreamWriter, request: h11.Request, answer: Answer
    ) -> None:
        headers = [(n, v) for n, v in answer.headers if n.lower() not in _FRAMING_HEADERS]
        if self._web is not None:
            headers += [(n.encode("latin-1"), v.encode("latin-1")) for n, v in self._web.current().headers]
        declared = next((v for n, v in answer.headers if n.lower() == b"content-length"), None)
        size = str(sum(len(chunk) for chunk in answer.chunks)).encode()
        # A HEAD answer carries the length the GET would have, which only the app knows.
        length = declared if request.method == b"HEAD" and declared is not None else size
        headers += [(b"content-length", length), _SERVER_HEADER]
        head = _sent(http, h11.Response(status_code=answer.status, headers=headers, reason=answer.reason))
        async with asyncio.timeout(self._limits.write_timeout):
            if request.method == b"HEAD" or int(size) <= _WRITE_SLICE_BYTES:
                # A small answer leaves in one write: fewer packets, and no part of it held back.
                body = b"".join(answer.chunks) if request.method != b"HEAD" else b""
                message = _sent(http, h11.Data(data=body)) if body else b""
                writer.write(head + message + _sent(http, h11.EndOfMessage()))
                await writer.drain()
                return
            writer.write(head)
            for chunk in answer.chunks:
                view = memoryview(chunk)
                for start in range(0, len(view), _WRITE_SLICE_BYTES):
                    piece = h11.Data(data=view[start : start + _WRITE_SLICE_BYTES])  # type: ignore[arg-type]
                    for part in http.send_with_data_passthrough(piece) or ():
                        writer.write(part)
                    await writer.drain()
            writer.write(_sent(http, h11.EndOfMessage()))
            await writer.drain()

    async def _refuse(
        self, http: h11.Connection, writer: asyncio.StreamWriter, status: int, why: str
    ) -> None:
        """A bad request gets a short plain answer and the connection is closed."""
        if http.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = f"{why}\n".encode("ascii", "replace")
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            _SERVER_HEADER,
        ]
        with contextlib.suppress(h11.LocalProtocolError):
            for event in (
                h11.Response(status_code=status, headers=headers),
                h11.Data(data=body),
                h11.EndOfMessage(),
            ):
                writer.write(_sent(http, event))
            async with asyncio.timeout(self._limits.write_timeout):
                await writer.drain()


class _BodyTooLarge(Exception):
    pass


def _sent(http: h11.Connection, event: h11.Event) -> bytes:
    data = http.send(event)
    return data if data is not None else b""  # None only for ConnectionClosed, never sent here


def _bind(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=1024)
    except socket.gaierror as exc:
        raise ListenAddressError(f"--web.listen-address: cannot resolve {host!r}: {exc.strerror}") from None


def _peer(writer: asyncio.StreamWriter, tls: bool) -> Peer:
    remote = writer.get_extra_info("peername") or ("", 0)
    local = writer.get_extra_info("sockname") or ("", 0)
    return Peer(str(remote[0]), int(remote[1]), str(local[0]), int(local[1]), "https" if tls else "http")


def _raise_open_files_limit() -> None:
    """Let connections use every descriptor the hard limit allows, as Go's runtime does at start."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))

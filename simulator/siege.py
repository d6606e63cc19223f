"""Hostile clients for an HTTP server on loopback: idle connections and slowloris ones, held open.

The simulator plays a hostile upstream; this plays the hostile side of the exporter's own port.
``Siege`` opens the connections, keeps the slowloris ones sending a request head a byte at a
time, and records when the server closed each one, so a test or benchmark can check that scrapes
still answer while they are held and that the server's timeouts reap them.
"""

import resource
import selectors
import socket
import statistics
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType

_CONNECT_TIMEOUT = 10.0
_TICK = 0.05
# A head that never ends: a request line, then one header whose value grows a byte at a time
# (far below any header-size limit at a byte a second).
_SLOW_HEAD = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


class Kind(StrEnum):
    SILENT = "silent"  # connects and never sends a byte
    KEEPALIVE = "keepalive"  # one request answered, then idle on a kept-alive connection
    SLOWLORIS = "slowloris"  # sends its request head a byte at a time, never finishing it


@dataclass
class _Held:
    kind: Kind
    sock: socket.socket
    opened: float  # monotonic
    sent: int = 0


@dataclass(frozen=True)
class KindReport:
    """What happened to the connections of one kind so far."""

    kind: Kind
    opened: int
    closed: int
    failed_to_open: int
    # Seconds from open to the server closing it, one per closed connection.
    closed_after: tuple[float, ...] = field(default=())

    @property
    def open_now(self) -> int:
        return self.opened - self.closed

    def close_summary(self) -> str:
        if not self.closed_after:
            return "none closed"
        times = sorted(self.closed_after)
        return f"closed after {times[0]:.1f}/{statistics.median(times):.1f}/{times[-1]:.1f} s (min/p50/max)"


def raise_open_files_limit() -> int:
    """Raise this process's descriptor limit to its hard limit (a thousand sockets need it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        return wanted
    return soft


class Siege:
    """``with Siege(host, port, silent=..., keepalive=..., slowloris=...) as siege:``; then ``report()``.

    With ``reopen_slowloris`` a slowloris connection the server closes is replaced at once, so as
    many stay in flight for the whole siege, as a real attacker would keep them.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        silent: int = 0,
        keepalive: int = 0,
        slowloris: int = 0,
        byte_interval: float = 1.0,
        reopen_slowloris: bool = False,
    ) -> None:
        self._address = (host, port)
        self._wanted = {Kind.SILENT: silent, Kind.KEEPALIVE: keepalive, Kind.SLOWLORIS: slowloris}
        self._byte_interval = byte_interval
        self._reopen = reopen_slowloris
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._opened = dict.fromkeys(Kind, 0)
        self._failed = dict.fromkeys(Kind, 0)
        self._closed_after: dict[Kind, list[float]] = {kind: [] for kind in Kind}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="siege", daemon=True)

    def start(self) -> "Siege":
        raise_open_files_limit()
        for kind, count in self._wanted.items():
            for _ in range(count):
                self._open(kind)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()

    def report(self) -> dict[Kind, KindReport]:
        with self._lock:
            return {
                kind: KindReport(
                    kind,
                    self._opened[kind],
                    len(self._closed_after[kind]),
                    self._failed[kind],
                    tuple(self._closed_after[kind]),
                )
                for kind in Kind
                if self._wanted[kind]
            }

    def all_closed(self) -> bool:
        return all(report.open_now == 0 for report in self.report().values())

    def _open(self, kind: Kind) -> None:
        try:
            sock = socket.create_connection(self._address, timeout=_CONNECT_TIMEOUT)
            if kind is Kind.KEEPALIVE:
                sock.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            sock.setblocking(False)
        except OSError:
            with self._lock:
                self._failed[kind] += 1
            return
        held = _Held(kind, sock, time.monotonic())
        with self._lock:
            self._opened[kind] += 1
        self._selector.register(sock, selectors.EVENT_READ, held)

    def _close(self, held: _Held) -> None:
        self._selector.unregister(held.sock)
        held.sock.close()
        with self._lock:
            self._closed_after[held.kind].append(time.monotonic() - held.opened)
        if held.kind is Kind.SLOWLORIS and self._reopen and not self._stopping.is_set():
            self._open(Kind.SLOWLORIS)

    def _run(self) -> None:
        next_byte = time.monotonic()
        while not self._stopping.is_set():
            for key, _ in self._selector.select(_TICK):
                held: _Held = key.data
                if not self._still_open(held):
                    self._close(held)
            if time.monotonic() >= next_byte:
                next_byte += self._byte_interval
                self._send_slow_bytes()

    @staticmethod
    def _still_open(held: _Held) -> bool:
        try:
            # Keep-alive answers are read and dropped; only an end of stream or an error is news.
            return bool(held.sock.recv(65536))
        except BlockingIOError:
            return True
        except OSError:
            return False

    def _send_slow_bytes(self) -> None:
        for key in list(self._selector.get_map().values()):
            held: _Held = key.data
            if held.kind is not Kind.SLOWLORIS:
                continue
            byte = _SLOW_HEAD[held.sent : held.sent + 1] or b"a"
            try:
                held.sock.send(byte)
                held.sent += 1
            except BlockingIOError:
                pass
            except OSError:
                self._close(held)

    def __enter__(self) -> "Siege":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

"""A socket reader that keeps to the probe's deadline and notes when the first byte arrived.

http.client reads a response through ``sock.makefile("rb")``; a socket timeout would restart at
every read, so a server that trickles a byte at a time could hold a probe far past its timeout.
Here every read gets only the time that is left.
"""

import io
import socket
import time
from typing import cast

from collectors.probes.model import Deadline


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

"""The simulator's request handler for werkzeug's server: quiet, and without a 10 MB read per request.

After every response werkzeug's ``run_wsgi`` drains what the client may still send with
``rfile.read(10_000_000)``, and ``BufferedReader.read(n)`` allocates all ``n`` bytes before it
reads: at a client's EOF that is 10 MB allocated to return ``b""``. Under ``--demo`` the
simulator answers about a thousand requests a minute inside the exporter's process; glibc then
raises its mmap threshold past 10 MB and serves these buffers from the threads' malloc arenas,
whose touched pages made the process's RSS creep by about 0.4 MiB/min for as long as it ran.
Capping each read keeps every allocation small; a drain just loops more often.
"""

import io

from werkzeug.serving import WSGIRequestHandler

# Far above any request the simulator is sent, far below glibc's dynamic mmap threshold cap.
MAX_READ_BYTES = 64 * 1024


class CappedReader(io.BufferedReader):
    """A reader that never asks for (or allocates) more than ``MAX_READ_BYTES`` at once.

    A capped read may return fewer bytes than asked before EOF. Requests to the simulator are
    far smaller than the cap, so only werkzeug's drain asks for more, and it reads in a loop.
    """

    def read(self, size: int | None = -1, /) -> bytes:
        if size is not None and size > MAX_READ_BYTES:
            size = MAX_READ_BYTES
        return super().read(size)


class QuietHandler(WSGIRequestHandler):
    """No access log line per request (tests and benchmarks send thousands), reads capped."""

    def setup(self) -> None:
        super().setup()
        # Nothing has been read yet, so no buffered byte is lost by re-wrapping the socket stream.
        raw = self.rfile.detach()
        self.rfile = CappedReader(raw)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

"""The API server's request table: what was asked, when it is done, and what it returned.

The real server keeps finished requests in its on-disk database for ``requests_retention_hours``
(24 by default). This table lives in the simulator's memory, inside the exporter's own process
under ``--demo``, so it keeps a request only for ``retention`` seconds after it finished (long
enough for a client to poll again or retry) and is bounded by count and by the bytes of stored
results besides, so that polling a fleet for hours does not grow memory without end.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from simulator import wire
from simulator.controller import ClusterQuery

MAX_REQUESTS = 10_000
MAX_RESULT_BYTES = 128 * 1024 * 1024
# Several polling intervals of any sane client; a collector polls once per collection.
RETENTION_SECONDS = 60.0


@dataclass(frozen=True)
class SimRequest:
    request_id: str
    created_at: float
    ready_at: float  # wall time from which the request counts as finished
    service_names: tuple[str, ...] | None
    user_id: str
    pid: int
    # Set for a ``status`` (clusters) request; a ``serve.status`` request has none.
    clusters: ClusterQuery | None = None
    pools: bool = False  # a ``jobs.pool_status`` request (service_names are then pool names)

    @property
    def name(self) -> str:
        if self.pools:
            return wire.POOL_STATUS_REQUEST_NAME
        return wire.REQUEST_NAME if self.clusters is None else wire.CLUSTER_STATUS_REQUEST_NAME


@dataclass(frozen=True)
class Outcome:
    status: str  # SUCCEEDED or FAILED
    return_value: str  # JSON text, as in the payload
    error: str  # JSON text: "null" on success
    finished_at: float


class UnknownRequest(LookupError):
    pass


class AmbiguousRequest(LookupError):
    pass


@dataclass
class _Entry:
    request: SimRequest
    outcome: Outcome | None = None

    @property
    def done_at(self) -> float:
        # A request nobody polled counts as done when it was ready: its client is gone.
        return self.outcome.finished_at if self.outcome is not None else self.request.ready_at


class RequestStore:
    def __init__(
        self,
        max_requests: int = MAX_REQUESTS,
        max_result_bytes: int = MAX_RESULT_BYTES,
        retention: float = RETENTION_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._max_requests = max_requests
        self._max_bytes = max_result_bytes
        self._retention = retention
        self._clock = clock

    def add(self, request: SimRequest) -> None:
        with self._lock:
            self._entries[request.request_id] = _Entry(request)
            self._evict()

    def find(self, id_or_prefix: str) -> SimRequest:
        """The request with this id, or the only one it is a prefix of (as ``/api/get`` allows)."""
        with self._lock:
            entry = self._entries.get(id_or_prefix)
            if entry is not None:
                return entry.request
            matches = [e.request for rid, e in self._entries.items() if rid.startswith(id_or_prefix)]
        if not matches or not id_or_prefix:
            raise UnknownRequest(id_or_prefix)
        if len(matches) > 1:
            raise AmbiguousRequest(id_or_prefix)
        return matches[0]

    def finish(self, request_id: str, run: Callable[[], Outcome]) -> Outcome:
        """The request's outcome, running it first if nobody has yet (the first result sticks)."""
        with self._lock:
            entry = self._entries.get(request_id)
        if entry is not None and entry.outcome is not None:
            return entry.outcome
        outcome = run()
        with self._lock:
            entry = self._entries.get(request_id)
            if entry is None:
                return outcome
            if entry.outcome is None:
                entry.outcome = outcome
                self._bytes += len(outcome.return_value)
                self._evict(keep=request_id)
            return entry.outcome

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def requests(self) -> tuple[SimRequest, ...]:
        """The requests in the table, in the order they were submitted."""
        with self._lock:
            return tuple(entry.request for entry in self._entries.values())

    @property
    def result_bytes(self) -> int:
        """Bytes of the stored results (what the byte bound counts)."""
        with self._lock:
            return self._bytes

    def _evict(self, keep: str | None = None) -> None:
        horizon = self._clock() - self._retention
        # A full scan: entries finish out of insertion order, and within the retention window
        # there are only as many as clients polled in a minute.
        for request_id in [rid for rid, e in self._entries.items() if e.done_at < horizon and rid != keep]:
            self._drop(request_id)
        while len(self._entries) > self._max_requests or self._bytes > self._max_bytes:
            oldest = next(iter(self._entries))
            if oldest == keep:
                break
            self._drop(oldest)

    def _drop(self, request_id: str) -> None:
        entry = self._entries.pop(request_id)
        if entry.outcome is not None:
            self._bytes -= len(entry.outcome.return_value)

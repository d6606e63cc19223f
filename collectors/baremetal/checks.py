"""Health checks: one check, and a node set's checks run concurrently under a deadline.

A check is an HTTP(S) GET or a TCP connect, each bounded by the per-check timeout.

Outcomes:

- ``ok``: the TCP connect succeeded, or the GET answered 2xx;
- ``failed``: the node answered, but not healthily: another HTTP status (redirects are not followed,
  so a check never leaves the configured address), no answer within the timeout after connecting,
  a TLS error, a reset connection;
- ``unreachable``: no connection at all: refused, connect timeout, unknown host, no route.

A failed check is data about the node, not an error of the collector: only the exceptions a check
is expected to meet are turned into outcomes here; anything else reaches the runner.

A run checks each distinct target once, with a bound on checks in flight and a deadline for all.
Each check is bounded by its own timeout, so with no more hanging targets than workers a run
takes about one timeout. The deadline is the backstop for what a socket timeout does not bound
(a slow DNS lookup, a server trickling headers, more hanging targets than workers): checks still
unfinished then are reported as unreachable and the run ends anyway.
"""

import errno
import math
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import StrEnum

import requests
from urllib3.exceptions import ConnectTimeoutError

from collectors.baremetal.nodes import Target

SessionFactory = Callable[[], requests.Session]

GRACE_SECONDS = 1.0
# A run ends before the next is due, with a margin for building and rendering.
_INTERVAL_SHARE = 0.9
LATE = "no result before the run's deadline"


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class CheckResult:
    outcome: Outcome
    seconds: float
    detail: str = ""  # e.g. "HTTP 500", "connection refused"; never holds credentials

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def check_tcp(target: Target, timeout: float) -> tuple[Outcome, str]:
    try:
        with socket.create_connection((target.host, target.port), timeout=timeout):
            pass
    except OSError as exc:
        return Outcome.UNREACHABLE, _os_reason(exc)
    return Outcome.OK, "connected"


def check_http(target: Target, timeout: float, session_factory: SessionFactory) -> tuple[Outcome, str]:
    # A fresh session per check: a kept-alive connection would hide a listener that has gone away.
    with session_factory() as session:
        # The check is about the direct path to the box; an environment proxy would test the proxy.
        session.trust_env = False
        try:
            response = session.get(target.url, timeout=(timeout, timeout), allow_redirects=False, stream=True)
        except requests.RequestException as exc:
            return _request_failure(exc)
        with response:  # only the status matters: the body is never read
            code = response.status_code
    return (Outcome.OK if 200 <= code < 300 else Outcome.FAILED), f"HTTP {code}"


def _request_failure(exc: requests.RequestException) -> tuple[Outcome, str]:
    if isinstance(exc, requests.ConnectTimeout):
        return Outcome.UNREACHABLE, "connect timed out"
    if isinstance(exc, requests.Timeout):
        return Outcome.FAILED, "no answer in time"
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    # urllib3 reports every failure to open the connection (refused, unknown host, connect
    # timeout) as a ConnectTimeoutError subclass, wrapped in MaxRetryError.reason.
    if isinstance(reason, ConnectTimeoutError):
        return Outcome.UNREACHABLE, _connect_reason(reason)
    if isinstance(exc, requests.exceptions.SSLError):
        return Outcome.FAILED, "TLS error"
    return Outcome.FAILED, type(exc).__name__


def _connect_reason(error: ConnectTimeoutError) -> str:
    text = str(error).lower()
    if "refused" in text:
        return "connection refused"
    if "resolve" in text or "name or service" in text:
        return "unknown host"
    return "cannot connect"


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "connect timed out"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if exc.errno == errno.ECONNREFUSED:
        return "connection refused"
    return exc.strerror or type(exc).__name__


def run_budget(checks: int, timeout: float, concurrency: int, interval: float) -> float:
    """Seconds a run waits for its checks: every check using its whole timeout, wave after wave of
    ``concurrency``, plus a little grace; never beyond most of the interval."""
    waves = max(1, math.ceil(checks / concurrency))
    return min(waves * timeout + GRACE_SECONDS, max(timeout, _INTERVAL_SHARE * interval))


@dataclass(frozen=True)
class CheckRun:
    results: Mapping[Target, CheckResult]
    late: int  # checks cut off by the deadline


class Checker:
    def __init__(
        self,
        timeout: float,
        concurrency: int,
        session_factory: SessionFactory,
        monotonic: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.timeout = timeout
        self.concurrency = concurrency
        self._session_factory = session_factory
        self._monotonic = monotonic

    def check(self, target: Target) -> CheckResult:
        started = self._monotonic()
        if target.is_http:
            outcome, detail = check_http(target, self.timeout, self._session_factory)
        else:
            outcome, detail = check_tcp(target, self.timeout)
        return CheckResult(outcome, self._monotonic() - started, detail)

    def run(self, targets: Iterable[Target], budget: float) -> CheckRun:
        """Each distinct target checked once; returns within about ``budget`` seconds."""
        unique = list(dict.fromkeys(targets))
        if not unique:
            return CheckRun(results={}, late=0)
        executor = ThreadPoolExecutor(
            max_workers=min(self.concurrency, len(unique)), thread_name_prefix="baremetal-check"
        )
        try:
            futures = {target: executor.submit(self.check, target) for target in unique}
            done, _ = wait(futures.values(), timeout=budget)
        finally:
            # Do not wait for hanging checks: each ends by its own timeout, on its own thread.
            executor.shutdown(wait=False, cancel_futures=True)
        late = CheckResult(Outcome.UNREACHABLE, budget, LATE)
        results = {target: future.result() if future in done else late for target, future in futures.items()}
        return CheckRun(results=results, late=len(unique) - len(done))

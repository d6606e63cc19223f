"""Runs a node set's checks concurrently, with a bound on checks in flight and a deadline for all.

Each check is bounded by its own timeout, so with no more hanging targets than workers a run
takes about one timeout. The deadline is the backstop for what a socket timeout does not bound
(a slow DNS lookup, a server trickling headers, more hanging targets than workers): checks still
unfinished then are reported as unreachable and the run ends anyway.
"""

import math
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from collectors.baremetal.checks import CheckResult, Outcome, SessionFactory, check_http, check_tcp
from collectors.baremetal.nodes import Target

GRACE_SECONDS = 1.0
# A run ends before the next is due, with a margin for building and rendering.
_INTERVAL_SHARE = 0.9
LATE = "no result before the run's deadline"


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

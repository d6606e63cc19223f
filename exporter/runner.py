"""Runs collectors: the one place where failures are caught, timed, classified and cut off.

``run_once`` is one collection, start to end. ``DeadlineRunner`` runs it in a thread of its own
under the collector's ``timeout``: at the deadline the run is stored as a ``timeout`` failure
whatever the collector is doing. Python cannot kill that thread, so the collector is not started
again until it returns; the runs skipped meanwhile are counted, not logged.

Failures are logged once per episode (``FailureEpisodes``): the first failed run, a change of
reason, and the recovery with how many runs failed. An upstream down for an hour is two lines,
not one a run; the counters say how many runs failed.
"""

import json
import logging
import threading
import time
from dataclasses import dataclass, replace

import pydantic
import requests

from exporter.collector import Clock, Collector
from exporter.errors import CollectorError, ErrorKind
from exporter.redact import redact_text
from exporter.series import SeriesStore
from exporter.snapshot import Snapshot

_MAX_ERROR_CHARS = 300


def run_once(
    collector: Collector, clock: Clock, logger: logging.Logger, series: SeriesStore | None = None
) -> Snapshot:
    """Fetch, build and encode one collection into ``series`` (the collector's store of encoded
    series, which reuses the last collection's lines); never raises.

    Encoding here, not at the first scrape, keeps its cost and any encoding error inside the
    timed, classified run.
    """
    started_at = clock()
    t0 = time.perf_counter()
    try:
        raw = collector.fetch()
        build = collector.build(raw, now=clock())
        encoded = (series if series is not None else SeriesStore()).encode(build.families)
    except Exception as exc:
        kind = classify(exc)
        message = describe(exc)
        if kind is ErrorKind.OTHER and not isinstance(exc, CollectorError):
            # Most likely our bug: its traceback is logged every time, whatever the episode.
            logger.error(
                "collection failed with an unexpected error",
                extra={"collector": collector.name, "reason": kind.value, "error": message},
                exc_info=exc,
            )
        return Snapshot(
            collector=collector.name,
            ok=False,
            started_at=started_at,
            duration=time.perf_counter() - t0,
            error_kind=kind,
            error=message,
        )
    return Snapshot(
        collector=collector.name,
        ok=True,
        started_at=started_at,
        duration=time.perf_counter() - t0,
        build=replace(build, families=[]),
        series=encoded,
    )


class FailureEpisodes:
    """One collector's failures as episodes, for the log: a line when runs start failing or fail
    for another reason, and one when they succeed again; the repeats in between go to debug."""

    def __init__(self, name: str, logger: logging.Logger) -> None:
        self._name = name
        self._logger = logger
        self._reason: ErrorKind | None = None  # the reason of the episode in progress
        self._failed_runs = 0
        self._since = 0.0  # monotonic start of the episode

    def note(self, snapshot: Snapshot, stuck: bool = False) -> None:
        if snapshot.ok:
            if self._failed_runs:
                self._logger.info(
                    "collection recovered",
                    extra={
                        "collector": self._name,
                        "failed_runs": self._failed_runs,
                        "after_seconds": round(time.monotonic() - self._since, 1),
                    },
                )
            self._reason, self._failed_runs = None, 0
            return
        reason = snapshot.error_kind or ErrorKind.OTHER
        extra = {"collector": self._name, "reason": reason.value, "error": snapshot.error}
        if stuck:
            extra["note"] = "runs are skipped until the stuck one returns"
        if reason is not self._reason:
            if not self._failed_runs:
                self._since = time.monotonic()
            self._logger.warning("collection failed", extra=extra)
            self._reason = reason
        else:
            self._logger.debug("collection failed again", extra=extra)
        self._failed_runs += 1


@dataclass
class _Run:
    thread: threading.Thread
    started: float  # monotonic
    result: Snapshot | None = None


class DeadlineRunner:
    """Runs one collector's collections, each in its own thread, each cut off at the timeout."""

    def __init__(self, collector: Collector, clock: Clock, logger: logging.Logger) -> None:
        self._collector = collector
        self._clock = clock
        self._logger = logger
        self._series = SeriesStore()
        self._episodes = FailureEpisodes(collector.name, logger)
        self._stuck: _Run | None = None  # a run that outlived its deadline and has not returned

    @property
    def name(self) -> str:
        return self._collector.name

    def run(self) -> Snapshot | None:
        """The run's snapshot; None when it was skipped because the last one is still stuck."""
        if self._still_stuck():
            return None
        name = self._collector.name
        started_at = self._clock()

        def collect() -> None:
            run.result = run_once(self._collector, self._clock, self._logger, self._series)

        run = _Run(threading.Thread(target=collect, name=f"collect-{name}", daemon=True), time.monotonic())
        run.thread.start()
        timeout = self._collector.timeout
        run.thread.join(timeout)
        if run.result is not None:
            self._episodes.note(run.result)
            return run.result
        self._stuck = run
        cut = Snapshot(
            collector=name,
            ok=False,
            started_at=started_at,
            duration=time.monotonic() - run.started,
            error_kind=ErrorKind.TIMEOUT,
            error=f"the run did not finish within its {timeout:g}s timeout",
        )
        self._episodes.note(cut, stuck=True)
        return cut

    def _still_stuck(self) -> bool:
        stuck = self._stuck
        if stuck is None:
            return False
        if stuck.thread.is_alive():
            return True
        self._stuck = None
        self._logger.info(
            "stuck collection returned; runs resume",
            extra={
                "collector": self._collector.name,
                "after_seconds": round(time.monotonic() - stuck.started, 1),
            },
        )
        return False


def classify(exc: BaseException) -> ErrorKind:
    if isinstance(exc, CollectorError):
        return exc.kind
    if isinstance(exc, requests.Timeout | TimeoutError):
        return ErrorKind.TIMEOUT
    if isinstance(exc, requests.ConnectionError | ConnectionError):
        return ErrorKind.UNAVAILABLE
    # Upstream data too deep to walk, or with strings that cannot be encoded, is garbage in.
    if isinstance(exc, json.JSONDecodeError | pydantic.ValidationError | UnicodeError | RecursionError):
        return ErrorKind.PARSE
    return ErrorKind.OTHER


def describe(exc: BaseException) -> str:
    """A one-line message fit for a log line or a status page: redacted and bounded."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = redact_text(text)
    if len(text) > _MAX_ERROR_CHARS:
        text = text[: _MAX_ERROR_CHARS - 3] + "..."
    return text

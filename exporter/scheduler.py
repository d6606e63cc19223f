"""One APScheduler job per collector: first run at start, never overlapping, jittered."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from exporter.collector import Clock, Collector
from exporter.runner import DeadlineRunner
from exporter.snapshot import SnapshotStore

# Jitter spreads collectors that share an interval, so their upstream calls do not line up.
_MAX_JITTER_SECONDS = 5.0
_MAX_CONCURRENT_JOBS = 64


class CollectorScheduler:
    """APScheduler with one job per collector; jobs come and go as the config is reloaded."""

    def __init__(self, store: SnapshotStore, clock: Clock, logger: logging.Logger) -> None:
        self._store = store
        self._clock = clock
        self._logger = logger
        # Threads are made only as jobs need them; each job runs at most one instance at a time.
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=_MAX_CONCURRENT_JOBS)}, timezone=UTC
        )
        self._job_ids: dict[str, str] = {}

    def add(self, collector: Collector, generation: int) -> None:
        """Run ``collector`` from now on, replacing any job of the same name."""
        self.remove(collector.name)
        # A job id per generation: APScheduler would hold the new job back while the replaced
        # one's run is still in flight under the same id.
        job_id = self._job_ids[collector.name] = f"{collector.name}#{generation}"
        job = CollectorJob(
            DeadlineRunner(collector, self._clock, self._logger),
            self._store,
            self._logger,
            generation,
            first_wait=collector.interval,
        )
        self._scheduler.add_job(
            job,
            trigger=IntervalTrigger(
                seconds=collector.interval, jitter=min(_MAX_JITTER_SECONDS, collector.interval / 10)
            ),
            id=job_id,
            name=f"collect {collector.name}",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(collector.interval)),
        )

    def remove(self, name: str) -> None:
        """Stop scheduling ``name``; a run in progress ends on its own and its result is dropped."""
        job_id = self._job_ids.pop(name, None)
        if job_id is not None and self._scheduler.get_job(job_id) is not None:
            self._scheduler.remove_job(job_id)

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self, wait: bool = False) -> None:
        self._scheduler.shutdown(wait=wait)


@dataclass(frozen=True)
class CollectorJob:
    """One scheduled run: collect under the deadline, then swap the snapshot into the store."""

    runner: DeadlineRunner  # owns the collector's encoded series from one run to the next
    store: SnapshotStore
    logger: logging.Logger
    generation: int  # the store drops this job's runs once a reload has replaced it
    first_wait: float  # how long a first run may wait for the others' first runs

    def __call__(self) -> None:
        # A collector that probes what the others discover starts after their first runs, for
        # at most its interval, so its first round is not an empty one.
        self.store.wait_for_others(self.runner.name, self.first_wait)
        snapshot = self.runner.run()
        if snapshot is None:
            self.store.skip_run(self.runner.name)
            return
        self.store.put(snapshot, self.generation)
        if snapshot.ok:
            self.logger.debug(
                "collection done",
                extra={"collector": self.runner.name, "duration_seconds": snapshot.duration},
            )

"""One APScheduler job per collector: first run at start, never overlapping, jittered."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from exporter.collector import Clock, Collector
from exporter.render import EncodingDemand, LineCache
from exporter.runner import DeadlineRunner
from exporter.snapshot import SnapshotStore

# Jitter spreads collectors that share an interval, so their upstream calls do not line up.
_MAX_JITTER_SECONDS = 5.0


def make_scheduler(
    collectors: Sequence[Collector],
    store: SnapshotStore,
    demand: EncodingDemand,
    clock: Clock,
    logger: logging.Logger,
) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=max(1, len(collectors)))},
        timezone=UTC,
    )
    for collector in collectors:
        scheduler.add_job(
            CollectorJob(DeadlineRunner(collector, clock, logger), store, demand, LineCache(), logger),
            trigger=IntervalTrigger(
                seconds=collector.interval, jitter=min(_MAX_JITTER_SECONDS, collector.interval / 10)
            ),
            id=collector.name,
            name=f"collect {collector.name}",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(collector.interval)),
        )
    return scheduler


@dataclass(frozen=True)
class CollectorJob:
    """One scheduled run: collect under the deadline, then swap the snapshot into the store."""

    runner: DeadlineRunner
    store: SnapshotStore
    demand: EncodingDemand
    lines: LineCache  # this collector's encoded lines from its previous run
    logger: logging.Logger

    def __call__(self) -> None:
        snapshot = self.runner.run(self.demand.wanted(), self.lines)
        if snapshot is None:
            self.store.skip_run(self.runner.name)
            return
        self.store.put(snapshot)
        if snapshot.ok:
            self.logger.debug(
                "collection done",
                extra={"collector": self.runner.name, "duration_seconds": snapshot.duration},
            )

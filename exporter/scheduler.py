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
from exporter.runner import run_once
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
            CollectorJob(collector, store, demand, LineCache(), clock, logger),
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
    """One scheduled run: collect, then swap the snapshot into the store."""

    collector: Collector
    store: SnapshotStore
    demand: EncodingDemand
    lines: LineCache  # this collector's encoded lines from its previous run
    clock: Clock
    logger: logging.Logger

    def __call__(self) -> None:
        snapshot = run_once(self.collector, self.clock, self.logger, self.demand.wanted(), self.lines)
        self.store.put(snapshot)
        if snapshot.ok:
            self.logger.debug(
                "collection done",
                extra={"collector": self.collector.name, "duration_seconds": snapshot.duration},
            )

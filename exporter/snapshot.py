"""Snapshots of collector runs and the store that swaps them atomically and ages them out."""

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from exporter.collector import Build
from exporter.errors import ErrorKind
from exporter.render import Rendered


@dataclass(frozen=True)
class Snapshot:
    """The outcome of one run of one collector."""

    collector: str
    ok: bool
    started_at: float
    duration: float
    build: Build | None = None
    rendered: Rendered | None = None
    error_kind: ErrorKind | None = None
    error: str | None = None  # already free of secrets


@dataclass(frozen=True)
class CollectorView:
    """What the store knows of one collector at one moment."""

    name: str
    interval: float
    stale_after: float
    last_run: Snapshot | None
    last_good: Snapshot | None
    fresh: bool  # last_good exists and is younger than stale_after, so its data is served
    errors: Mapping[ErrorKind, int]
    skipped: Mapping[str, int]  # upstream records skipped, by reason
    runs_skipped: int = 0  # runs not started because the last one was stuck past its deadline

    @property
    def up(self) -> bool:
        return self.last_run is not None and self.last_run.ok

    @property
    def serving(self) -> Snapshot | None:
        """The snapshot whose data /metrics serves now, if any."""
        return self.last_good if self.fresh else None


@dataclass(frozen=True)
class _Schedule:
    interval: float
    stale_after: float


class SnapshotStore:
    """Latest run and latest good run per collector, plus the counters that outlive snapshots.

    Readers get a consistent view without waiting on a collection: writers only swap references
    under a short lock.
    """

    def __init__(self, schedules: Mapping[str, tuple[float, float]]) -> None:
        """``schedules`` maps collector name to (interval, stale_after) in seconds."""
        self._schedules = {name: _Schedule(*pair) for name, pair in schedules.items()}
        self._lock = threading.Lock()
        self._last_run: dict[str, Snapshot] = {}
        self._last_good: dict[str, Snapshot] = {}
        self._errors: dict[str, Counter[ErrorKind]] = {name: Counter() for name in schedules}
        self._skipped: dict[str, Counter[str]] = {name: Counter() for name in schedules}
        self._runs_skipped: Counter[str] = Counter()
        self._version = 0

    @property
    def names(self) -> list[str]:
        return list(self._schedules)

    @property
    def version(self) -> int:
        """Changes whenever a run is stored: what a scrape shows can only change with it or with time."""
        return self._version

    def put(self, snapshot: Snapshot) -> None:
        name = snapshot.collector
        with self._lock:
            self._version += 1
            self._last_run[name] = snapshot
            if snapshot.ok:
                self._last_good[name] = snapshot
                if snapshot.build is not None:
                    self._skipped[name].update(snapshot.build.skipped)
            elif snapshot.error_kind is not None:
                self._errors[name][snapshot.error_kind] += 1

    def skip_run(self, name: str) -> None:
        """Count a run not started because the collector's last one is still stuck."""
        with self._lock:
            self._version += 1
            self._runs_skipped[name] += 1

    def view(self, now: float) -> list[CollectorView]:
        with self._lock:
            return [self._view_of(name, now) for name in self._schedules]

    def ready(self) -> bool:
        with self._lock:
            return all(name in self._last_run for name in self._schedules)

    def _view_of(self, name: str, now: float) -> CollectorView:
        schedule = self._schedules[name]
        good = self._last_good.get(name)
        fresh = good is not None and now - (good.started_at + good.duration) <= schedule.stale_after
        return CollectorView(
            name=name,
            interval=schedule.interval,
            stale_after=schedule.stale_after,
            last_run=self._last_run.get(name),
            last_good=good,
            fresh=fresh,
            errors=dict(self._errors[name]),
            skipped=dict(self._skipped[name]),
            runs_skipped=self._runs_skipped[name],
        )

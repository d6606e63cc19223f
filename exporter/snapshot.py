"""Snapshots of collector runs and the store that swaps them atomically and ages them out."""

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from exporter.collector import Build
from exporter.errors import ErrorKind
from exporter.series import EncodedSeries


@dataclass(frozen=True)
class Snapshot:
    """The outcome of one run of one collector.

    ``build`` comes without its families: once they are encoded into ``series`` the samples are
    dead weight, and a big fleet's are most of the memory a snapshot would hold.
    """

    collector: str
    ok: bool
    started_at: float
    duration: float
    build: Build | None = None
    series: EncodedSeries | None = None
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
    waiting_for: str | None = None  # why the collector is not ready yet; None once it is

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
    after_others: bool = False  # its first run waits for every other collector's first run


@dataclass(frozen=True)
class ReloadStatus:
    """How the last attempt to reload the config went, named as Prometheus reports its own."""

    successful: bool
    success_timestamp: float


class SnapshotStore:
    """Latest run and latest good run per collector, plus the counters that outlive snapshots.

    Readers get a consistent view without waiting on a collection: writers only swap references
    under a short lock.
    """

    def __init__(self, schedules: Mapping[str, tuple[float, float]], started_at: float = 0.0) -> None:
        """``schedules`` maps collector name to (interval, stale_after) in seconds."""
        self._lock = threading.Lock()
        self._first_runs = threading.Condition(self._lock)
        self._schedules: dict[str, _Schedule] = {}
        self._first_run_ended: dict[str, float] = {}
        self._generation: dict[str, int] = {}
        self._last_run: dict[str, Snapshot] = {}
        self._last_good: dict[str, Snapshot] = {}
        self._errors: dict[str, Counter[ErrorKind]] = {}
        self._skipped: dict[str, Counter[str]] = {}
        self._runs_skipped: Counter[str] = Counter()
        self._reload = ReloadStatus(True, started_at)
        self._version = 0
        self._listeners: list[Callable[[Snapshot], None]] = []
        for name, (interval, stale_after) in schedules.items():
            self.schedule(name, interval, stale_after)

    @property
    def names(self) -> list[str]:
        return list(self._schedules)

    @property
    def version(self) -> int:
        """Changes whenever a run is stored: what a scrape shows can only change with it or with time."""
        return self._version

    @property
    def reload_status(self) -> ReloadStatus:
        return self._reload

    def schedule(self, name: str, interval: float, stale_after: float, after_others: bool = False) -> int:
        """Start keeping ``name`` or, if kept already, forget its data (a changed collector starts
        afresh; its counters go on). Returns the generation that ``put`` must carry from now on.

        ``after_others``: the collector works on what the others discover; it is ready only once
        a run of its own began after each of theirs had a first run.
        """
        with self._lock:
            self._version += 1
            self._schedules[name] = _Schedule(interval, stale_after, after_others)
            self._generation[name] = self._generation.get(name, 0) + 1
            self._first_run_ended.pop(name, None)
            self._last_run.pop(name, None)
            self._last_good.pop(name, None)
            self._errors.setdefault(name, Counter())
            self._skipped.setdefault(name, Counter())
            return self._generation[name]

    def generation(self, name: str) -> int:
        with self._lock:
            return self._generation[name]

    def remove(self, name: str) -> None:
        """Forget ``name`` entirely: its series leave /metrics at the next scrape."""
        with self._lock:
            self._version += 1
            for table in (self._schedules, self._generation, self._last_run, self._last_good):
                table.pop(name, None)
            self._first_run_ended.pop(name, None)
            self._first_runs.notify_all()
            self._errors.pop(name, None)
            self._skipped.pop(name, None)
            self._runs_skipped.pop(name, None)

    def note_reload(self, successful: bool, at: float) -> None:
        with self._lock:
            self._version += 1
            previous = self._reload.success_timestamp
            self._reload = ReloadStatus(successful, at if successful else previous)

    def on_put(self, listener: Callable[[Snapshot], None]) -> None:
        """Call ``listener`` with every run stored from now on, after storing it, on the thread
        that stored it (a collector's, so work done there is not done by a scrape)."""
        with self._lock:
            self._listeners.append(listener)

    def put(self, snapshot: Snapshot, generation: int | None = None) -> bool:
        """Store a run; a run of a collector since replaced or removed (older ``generation``) is
        dropped, so a reload never lets the old config's data in after the new one's."""
        name = snapshot.collector
        with self._lock:
            if name not in self._schedules:
                return False
            if generation is not None and generation != self._generation[name]:
                return False
            self._version += 1
            self._last_run[name] = snapshot
            if name not in self._first_run_ended:
                self._first_run_ended[name] = snapshot.started_at + snapshot.duration
                self._first_runs.notify_all()
            if snapshot.ok:
                self._last_good[name] = snapshot
                if snapshot.build is not None:
                    self._skipped[name].update(snapshot.build.skipped)
            elif snapshot.error_kind is not None:
                self._errors[name][snapshot.error_kind] += 1
            listeners = list(self._listeners)
        for listener in listeners:
            listener(snapshot)
        return True

    def skip_run(self, name: str) -> None:
        """Count a run not started because the collector's last one is still stuck."""
        with self._lock:
            if name in self._schedules:
                self._version += 1
                self._runs_skipped[name] += 1

    def view(self, now: float) -> list[CollectorView]:
        with self._lock:
            return [self._view_of(name, now) for name in self._schedules]

    def ready(self) -> bool:
        """Every collector has data worth serving (or a failure worth reporting)."""
        with self._lock:
            return all(self._waiting_for(name) is None for name in self._schedules)

    def wait_for_others(self, name: str, timeout: float) -> bool:
        """For a collector that works on what the others discover: block until each of them has
        had a first run, or ``timeout``; True when they have. Immediate for any other collector."""
        with self._first_runs:
            return self._first_runs.wait_for(lambda: not self._others_pending(name), timeout)

    def _others_pending(self, name: str) -> list[str]:
        schedule = self._schedules.get(name)
        if schedule is None or not schedule.after_others:
            return []
        return [
            other
            for other, theirs in self._schedules.items()
            if other != name and not theirs.after_others and other not in self._first_run_ended
        ]

    def _waiting_for(self, name: str) -> str | None:
        """Why ``name`` is not ready yet, or None when it is."""
        last = self._last_run.get(name)
        pending = self._others_pending(name)
        if pending:
            return f"the first run of {', '.join(sorted(pending))}"
        if last is None:
            return "its first run"
        if self._schedules[name].after_others:
            others = [t for o, t in self._first_run_ended.items() if o != name and o in self._schedules]
            if others and last.started_at < max(others):
                return "a run that covers what the other collectors discovered"
        return None

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
            waiting_for=self._waiting_for(name),
        )

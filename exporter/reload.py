"""The collectors that run, built from the config, and how a reload swaps in a new config.

A reload builds only what changed. A collector whose section is unchanged keeps its object, and
with it its scheduler job, its data and what it counts across runs (accrued cost, transitions,
errors, skipped records). A changed section gets a new collector; a removed one's series leave
/metrics; a new one starts at once. A config that fails validation, or whose collectors cannot
be built, is rejected whole and the running one goes on.
"""

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests

from exporter.collector import (
    Collector,
    CollectorContext,
    Endpoint,
    services_of,
    top_level_key_of,
    waits_for_discoveries,
)
from exporter.config import LoadedConfig
from exporter.config_errors import ConfigError, SectionError
from exporter.scheduler import CollectorScheduler
from exporter.sharding import CurrentShard, Shard
from exporter.snapshot import SnapshotStore


@dataclass(frozen=True)
class Member:
    """One running collector and the validated section it was built from."""

    config: object  # compared with the reloaded section: equal means unchanged
    collector: Collector
    stale_after: float


class RunningCollectors:
    """Owns which collectors run; ``reload()`` re-reads the config and applies the difference."""

    def __init__(
        self,
        load: Callable[[], LoadedConfig],
        store: SnapshotStore,
        environ: Mapping[str, str],
        clock: Callable[[], float],
        logger: logging.Logger,
        *,
        sharding: Callable[[], Shard] | None = None,
    ) -> None:
        """``sharding``: the shard this exporter is now (default: the only one)."""
        self._load = load
        self._sharding = sharding if sharding is not None else CurrentShard()
        self._store = store
        self._environ = environ
        self._clock = clock
        self._logger = logger
        self._lock = threading.Lock()
        self._members: dict[str, Member] = {}
        self._scheduler: CollectorScheduler | None = None

    @property
    def store(self) -> SnapshotStore:
        return self._store

    @property
    def collectors(self) -> list[Collector]:
        return [member.collector for member in self._members.values()]

    def load(self) -> None:
        """The first config: ConfigError if it cannot run (the caller exits)."""
        with self._lock:
            self._apply(self._plan(self._load()))

    def run_with(self, scheduler: CollectorScheduler) -> None:
        """Schedule the loaded collectors, and every change a reload brings from now on."""
        with self._lock:
            self._scheduler = scheduler
            for name, member in self._members.items():
                scheduler.add(member.collector, self._store.generation(name))

    def reload(self) -> str | None:
        """Re-read the config and apply it; the reason it was rejected, or None if applied."""
        with self._lock:
            try:
                planned = self._plan(self._load())
            except ConfigError as exc:
                self._store.note_reload(False, self._clock())
                reason = "; ".join(exc.problems)
                self._logger.error(
                    "config reload rejected; the running config stays", extra={"error": reason}
                )
                return reason
            changed = self._apply(planned)
            self._store.note_reload(True, self._clock())
            self._logger.info("config reloaded", extra={"changed": ",".join(changed) or "nothing"})
            return None

    def _plan(self, loaded: LoadedConfig) -> dict[str, Member]:
        """Members for ``loaded``: running ones reused where their section is unchanged."""
        context = CollectorContext(
            requests.Session,
            self._clock,
            self._logger,
            self._environ,
            offered=self._offered,
            discovered=self._discovered,
            sharding=self._sharding,
            endpoints_wanted=self._endpoints_wanted,
        )
        planned: dict[str, Member] = {}
        problems: list[str] = []
        for item in loaded.collectors:
            name = item.factory.name
            kept = self._reuse(name, item.config)
            if kept is not None:
                planned[name] = kept
                continue
            path = top_level_key_of(item.factory) or f"collectors.{name}"
            try:
                built = item.factory.from_config(item.config, context)
            except SectionError as exc:
                problems.extend(f"{path}.{key}: {reason}" for key, reason in exc.problems)
                continue
            except ValueError as exc:
                problems.append(f"{path}: {exc}")
                continue
            planned[name] = Member(item.config, built, item.config.stale_after_seconds)
        if problems:
            raise ConfigError(problems)
        return planned

    def _reuse(self, name: str, config: object) -> Member | None:
        member = self._members.get(name)
        return member if member is not None and member.config == config else None

    def _apply(self, planned: dict[str, Member]) -> list[str]:
        """Make ``planned`` the running set; the names that changed."""
        changed = []
        for name in self._members.keys() - planned.keys():
            if self._scheduler is not None:
                self._scheduler.remove(name)
            self._store.remove(name)
            changed.append(f"-{name}")
        for name, member in planned.items():
            old = self._members.get(name)
            if old is member:
                continue
            generation = self._store.schedule(
                name,
                member.collector.interval,
                member.stale_after,
                after_others=waits_for_discoveries(member.collector),
            )
            if self._scheduler is not None:
                self._scheduler.add(member.collector, generation)
            changed.append(name if old is not None else f"+{name}")
        self._members = planned
        return changed

    def _offered(self) -> list[object]:
        """The services the running collectors offer (the price book): looked up at each use, so
        a reload that replaces a service reaches collectors whose own section did not change."""
        return services_of(member.collector for member in self._members.values())

    def _endpoints_wanted(self) -> bool:
        return any(waits_for_discoveries(member.collector) for member in self._members.values())

    def _discovered(self) -> tuple[Endpoint, ...]:
        """Endpoints in the data currently served, for the probes: gone services stop being probed."""
        found: list[Endpoint] = []
        for view in self._store.view(self._clock()):
            serving = view.serving
            if serving is not None and serving.build is not None:
                found.extend(serving.build.endpoints)
        return tuple(found)

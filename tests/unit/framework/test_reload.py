"""Reloading the config: what changed is replaced, what did not keeps running with its counters."""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from exporter.collector import CollectorConfig, CollectorContext
from exporter.config import EnabledCollector, LoadedConfig
from exporter.config_errors import ConfigError, SectionError
from exporter.errors import ErrorKind
from exporter.exposition import scrape_body
from exporter.reload import RunningCollectors
from exporter.scheduler import CollectorScheduler
from exporter.series import Format
from exporter.snapshot import Snapshot, SnapshotStore
from tests.unit.framework.fakes import FakeCollector

LOG = logging.getLogger("test")


class Scripted(FakeCollector):
    """A fake whose fetch() is whatever the test says at the time it runs."""

    name: ClassVar[str] = "fake"
    fetch_with: ClassVar[Callable[[], dict[str, int]]]
    built: ClassVar[list["Scripted"]] = []

    @classmethod
    def from_config(cls, config: CollectorConfig, context: CollectorContext) -> "Scripted":
        # Late-bound: each fetch calls whatever fetch_with is when it runs.
        script = lambda: cls.fetch_with()  # noqa: E731, PLW0108
        collector = cls([script], interval=config.interval, timeout=config.timeout)
        cls.built.append(collector)
        return collector


class Other(Scripted):
    name: ClassVar[str] = "other"


class Config:
    """What load() returns: the test edits it between reloads, as an operator edits the file."""

    def __init__(self) -> None:
        self.sections: dict[str, dict[str, Any]] = {"fake": {"interval": "30s"}}
        self.broken = False

    def load(self) -> LoadedConfig:
        if self.broken:
            raise ConfigError(["collectors.fake.bogus: unknown key"])
        factories = {"fake": Scripted, "other": Other}
        enabled = [
            EnabledCollector(factories[name], CollectorConfig.model_validate(section))
            for name, section in self.sections.items()
        ]
        return LoadedConfig(enabled)


@pytest.fixture(autouse=True)
def _fresh_scripts() -> None:
    Scripted.built.clear()
    Scripted.fetch_with = staticmethod(lambda: {"llama": 3})


def _running(config: Config) -> tuple[RunningCollectors, CollectorScheduler]:
    store = SnapshotStore({}, started_at=100.0)
    running = RunningCollectors(config.load, store, {}, time.time, LOG)
    running.load()
    scheduler = CollectorScheduler(store, time.time, LOG)
    running.run_with(scheduler)
    return running, scheduler


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _metrics(running: RunningCollectors) -> str:
    store = running.store
    body = scrape_body(store.view(time.time()), Format.TEXT, False, store.reload_status)
    return b"".join(body).decode()


def test_an_unchanged_collector_keeps_running_with_its_counters() -> None:
    config = Config()
    running, scheduler = _running(config)
    scheduler.start()
    try:
        _wait(lambda: "fake" in {v.name for v in running.store.view(time.time()) if v.up}, "first run")
        first = Scripted.built[0]
        failure = Snapshot(
            "fake", ok=False, started_at=1.0, duration=0.1, error_kind=ErrorKind.AUTH, error="x"
        )
        running.store.put(failure)
        config.sections["other"] = {"interval": "30s"}
        assert running.reload() is None
        assert Scripted.built[0] is first and [c.name for c in Scripted.built] == ["fake", "other"]
        fake = next(v for v in running.store.view(time.time()) if v.name == "fake")
        assert fake.errors[ErrorKind.AUTH] == 1, "the unchanged collector's counters go on"
        assert running.store.reload_status.successful
    finally:
        scheduler.shutdown(wait=True)


def test_a_changed_interval_takes_effect_and_replaces_the_collector() -> None:
    config = Config()
    running, scheduler = _running(config)
    config.sections["fake"] = {"interval": "1s", "timeout": "1s"}
    scheduler.start()
    try:
        assert running.reload() is None
        replacement = Scripted.built[-1]
        assert len(Scripted.built) == 2 and replacement.interval == 1.0
        _wait(lambda: replacement.fetches >= 2, "two runs at the new interval")
    finally:
        scheduler.shutdown(wait=True)


def test_a_removed_collectors_series_disappear() -> None:
    config = Config()
    config.sections["other"] = {"interval": "30s"}
    running, scheduler = _running(config)
    scheduler.start()
    try:
        _wait(lambda: 'collector_up{collector="other"} 1.0' in _metrics(running), "other up")
        assert "skyserve_fake_replicas" in _metrics(running)
        del config.sections["other"]
        assert running.reload() is None
        assert 'collector="other"' not in _metrics(running)
        assert 'collector="fake"' in _metrics(running)
    finally:
        scheduler.shutdown(wait=True)


def test_a_bad_config_keeps_the_old_one_and_says_so() -> None:
    config = Config()
    running, _scheduler = _running(config)
    before = running.collectors
    config.broken = True
    reason = running.reload()
    assert reason == "collectors.fake.bogus: unknown key"
    assert running.collectors == before
    text = _metrics(running)
    assert "skyserve_exporter_config_last_reload_successful 0.0" in text
    assert "skyserve_exporter_config_last_reload_success_timestamp_seconds 100.0" in text
    config.broken = False
    assert running.reload() is None
    assert "skyserve_exporter_config_last_reload_successful 1.0" in _metrics(running)


def test_a_reload_during_a_run_neither_loses_nor_duplicates_it() -> None:
    config = Config()
    in_fetch, release = threading.Event(), threading.Event()

    def slow() -> dict[str, int]:
        in_fetch.set()
        release.wait(10)
        return {"llama": 3}

    Scripted.fetch_with = staticmethod(slow)
    running, scheduler = _running(config)
    scheduler.start()
    try:
        assert in_fetch.wait(10)
        assert running.reload() is None  # unchanged: the run in flight is the one that counts
        release.set()
        _wait(lambda: running.store.view(time.time())[-1].up, "the run in flight to land")
        time.sleep(0.3)
        assert Scripted.built[0].fetches == 1, "the reload started no second run"
    finally:
        scheduler.shutdown(wait=True)


def test_a_run_of_a_replaced_collector_never_lands_after_the_new_config() -> None:
    config = Config()
    in_fetch, release = threading.Event(), threading.Event()

    def old_fetch() -> dict[str, int]:
        in_fetch.set()
        release.wait(10)
        return {"from-the-old-config": 1}

    Scripted.fetch_with = staticmethod(old_fetch)
    running, scheduler = _running(config)
    scheduler.start()
    try:
        assert in_fetch.wait(10)
        Scripted.fetch_with = staticmethod(lambda: {"from-the-new-config": 1})
        config.sections["fake"] = {"interval": "20s"}
        assert running.reload() is None
        _wait(lambda: "from-the-new-config" in _metrics(running), "the new collector's run")
        release.set()
        time.sleep(0.3)
        assert "from-the-old-config" not in _metrics(running)
    finally:
        release.set()
        scheduler.shutdown(wait=True)


class RateCard:
    """A service one collector offers the others, as the pricing collector offers its price book."""

    def __init__(self, rate: float) -> None:
        self.rate = rate


class Provider(Scripted):
    """Offers a rate card built from its section; ``interval`` stands in for a pricing key."""

    name: ClassVar[str] = "provider"

    @classmethod
    def from_config(cls, config: CollectorConfig, context: CollectorContext) -> "Scripted":
        collector = super().from_config(config, context)
        collector.card = RateCard(config.interval)  # type: ignore[attr-defined]
        return collector

    def services(self) -> tuple[object, ...]:
        return (self.card,)  # type: ignore[attr-defined]


class Consumer(Scripted):
    """Reports the rate of whatever card is offered when it runs."""

    name: ClassVar[str] = "consumer"

    @classmethod
    def from_config(cls, config: CollectorConfig, context: CollectorContext) -> "Scripted":
        card = context.service_lookup(RateCard)
        collector = cls(
            [lambda: {"rate": int(getattr(card(), "rate", -1))}],
            interval=config.interval,
            timeout=config.timeout,
        )
        cls.built.append(collector)
        return collector


def test_a_replaced_service_reaches_collectors_that_were_not_rebuilt() -> None:
    sections: dict[str, dict[str, Any]] = {"consumer": {"interval": "30s"}, "provider": {"interval": "40s"}}
    factories = {"consumer": Consumer, "provider": Provider}

    def load() -> LoadedConfig:
        return LoadedConfig(
            [EnabledCollector(factories[n], CollectorConfig.model_validate(s)) for n, s in sections.items()]
        )

    running = RunningCollectors(load, SnapshotStore({}), {}, time.time, LOG)
    running.load()
    (consumer,) = [c for c in running.collectors if c.name == "consumer"]
    assert consumer.fetch() == {"rate": 40}
    sections["provider"] = {"interval": "50s"}
    assert running.reload() is None
    assert next(c for c in running.collectors if c.name == "consumer") is consumer, "consumer kept"
    assert consumer.fetch() == {"rate": 50}, "it sees the new card"
    del sections["provider"]
    assert running.reload() is None
    assert consumer.fetch() == {"rate": -1}, "no provider, no service"


class Unbuildable(Scripted):
    """Validates, but cannot be built: as a token file that cannot be read."""

    name: ClassVar[str] = "unbuildable"

    @classmethod
    def from_config(cls, config: CollectorConfig, context: CollectorContext) -> "Scripted":
        raise SectionError("token_file", "cannot read /run/secrets/token: No such file or directory")


class ManyProblems(Scripted):
    """A node file with two mistakes: both reported, each on its own line."""

    name: ClassVar[str] = "many"

    @classmethod
    def from_config(cls, config: CollectorConfig, context: CollectorContext) -> "Scripted":
        raise SectionError.of(
            [
                ("inventory", "/etc/x/nodes.yml: nodes.0.port: port must be 1-65535, got 0"),
                ("inventory", "/etc/x/nodes.yml: nodes.3.name: Field required"),
            ]
        )


class Vague(Scripted):
    name: ClassVar[str] = "vague"

    @classmethod
    def from_config(cls, config: CollectorConfig, context: CollectorContext) -> "Scripted":
        raise ValueError("no cluster to read")


def test_build_problems_read_key_path_colon_reason_once() -> None:
    factories = {"unbuildable": Unbuildable, "many": ManyProblems, "vague": Vague}

    def load() -> LoadedConfig:
        return LoadedConfig([EnabledCollector(f, CollectorConfig()) for f in factories.values()])

    running = RunningCollectors(load, SnapshotStore({}), {}, time.time, LOG)
    with pytest.raises(ConfigError) as caught:
        running.load()
    assert caught.value.problems == [
        "collectors.unbuildable.token_file: cannot read /run/secrets/token: No such file or directory",
        "collectors.many.inventory: /etc/x/nodes.yml: nodes.0.port: port must be 1-65535, got 0",
        "collectors.many.inventory: /etc/x/nodes.yml: nodes.3.name: Field required",
        "collectors.vague: no cluster to read",
    ]


class Prober(Scripted):
    """A collector that probes what the others discover."""

    name: ClassVar[str] = "prober"
    contexts: ClassVar[list[CollectorContext]] = []

    @classmethod
    def from_config(cls, config: CollectorConfig, context: CollectorContext) -> "Scripted":
        cls.contexts.append(context)
        return super().from_config(config, context)

    def uses_discovered(self) -> bool:
        return True


def test_collectors_are_told_whether_anyone_probes_what_they_discover() -> None:
    seen: list[CollectorContext] = []

    class Discoverer(Scripted):
        name: ClassVar[str] = "discoverer"

        @classmethod
        def from_config(cls, config: CollectorConfig, context: CollectorContext) -> "Scripted":
            seen.append(context)
            return super().from_config(config, context)

    sections: dict[str, dict[str, Any]] = {"discoverer": {"interval": "30s"}}

    def load() -> LoadedConfig:
        factories = {"discoverer": Discoverer, "prober": Prober}
        return LoadedConfig(
            [EnabledCollector(factories[n], CollectorConfig.model_validate(s)) for n, s in sections.items()]
        )

    running = RunningCollectors(load, SnapshotStore({}), {}, time.time, LOG)
    running.load()
    assert seen[0].endpoints_wanted() is False
    sections["prober"] = {"interval": "30s"}
    assert running.reload() is None
    assert seen[0].endpoints_wanted() is True  # asked at each run: the discoverer was not rebuilt
    del sections["prober"]
    assert running.reload() is None
    assert seen[0].endpoints_wanted() is False

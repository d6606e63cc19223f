"""The ``skyserve-exporter`` command line (exporter-toolkit style flags)."""

import argparse
import gc
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from exporter import __version__
from exporter.allocator import keep_big_blocks_apart
from exporter.app import create_app
from exporter.autoshard import (
    InClusterApi,
    ShardDiscoveryError,
    ShardWatch,
    StatefulSetShard,
    warn_if_surplus,
)
from exporter.collector import Route, ServiceProvider, routes_of, waits_for_discoveries
from exporter.config import ExporterConfig, LoadedConfig, read_config, validate_config
from exporter.config_errors import ConfigError
from exporter.durations import parse_duration
from exporter.exposition import scrape_body
from exporter.logs import setup_logging
from exporter.registry import discover
from exporter.reload import RunningCollectors
from exporter.runner import DeadlineRunner
from exporter.scheduler import CollectorScheduler
from exporter.series import Format
from exporter.server import HTTPServer, ListenAddressError, ServerLimits
from exporter.sharding import CurrentShard, Shard
from exporter.snapshot import ReloadStatus, SnapshotStore
from exporter.status import ConsoleSettings
from exporter.webconfig import WebConfigError, WebConfigWatcher

EXIT_CONFIG = 2


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="skyserve-exporter", description=__doc__)
    parser.add_argument("--config", dest="config", type=Path, help="YAML config file")
    parser.add_argument("--web.listen-address", dest="listen", default=":9091", help="HOST:PORT or :PORT")
    parser.add_argument(
        "--web.config.file",
        dest="web_config_file",
        type=Path,
        help="exporter-toolkit web config: TLS, client certificates, basic auth, headers (re-read on change)",
    )
    defaults = ServerLimits()
    parser.add_argument(
        "--web.read-header-timeout",
        dest="read_header_timeout",
        type=parse_duration,
        default=defaults.read_header_timeout,
        help="a request's head must arrive within this long (slowloris defence)",
    )
    parser.add_argument(
        "--web.idle-timeout",
        dest="idle_timeout",
        type=parse_duration,
        default=defaults.idle_timeout,
        help="close keep-alive connections idle this long",
    )
    parser.add_argument(
        "--web.max-connections",
        dest="max_connections",
        type=int,
        default=defaults.max_connections,
        help="past this many open connections, the one idle the longest is closed",
    )
    parser.add_argument(
        "--web.max-probes",
        dest="max_probes",
        type=_positive_int,
        default=defaults.max_probes,
        help="/probe requests answered at once; past this many, a 503 at once",
    )
    parser.add_argument(
        "--web.console.grafana-url",
        dest="grafana_url",
        type=_http_url,
        default=None,
        help="link the console at / to these Grafana dashboards (http or https URL)",
    )
    parser.add_argument(
        "--web.console.docs-url",
        dest="docs_url",
        type=_link,
        default=ConsoleSettings.docs_url,
        help="where the console's docs link goes (default: the metric reference the exporter serves itself)",
    )
    parser.add_argument("--demo", action="store_true", help="serve a simulated fleet (no cloud needed)")
    parser.add_argument("--demo.services", dest="demo_services", type=int, default=4)
    parser.add_argument("--demo.replicas", dest="demo_replicas", type=int, default=5, help="per service")
    parser.add_argument("--demo.seed", dest="demo_seed", type=int, default=1)
    parser.add_argument("--config.check", dest="config_check", action="store_true", help="validate and exit")
    parser.add_argument("--once", action="store_true", help="collect once, print the exposition, exit")
    parser.add_argument(
        "--web.enable-lifecycle",
        dest="enable_lifecycle",
        action="store_true",
        help="allow POST /-/reload (SIGHUP reloads the config either way)",
    )
    parser.add_argument(
        "--shard",
        dest="shard",
        type=int,
        default=None,
        help="serve shard N (from 0) of --total-shards: the series whose object hashes to N (default 0)",
    )
    parser.add_argument(
        "--total-shards",
        dest="total_shards",
        type=int,
        default=None,
        help="how many exporters share the fleet, each started with its own --shard (default 1: unsharded)",
    )
    parser.add_argument(
        "--pod",
        dest="pod",
        default=None,
        help="automatic sharding: this pod's name (downward API); the shard is its StatefulSet ordinal "
        "and the total the StatefulSet's replicas, re-read every minute and at a reload",
    )
    parser.add_argument(
        "--pod-namespace", dest="pod_namespace", default=None, help="automatic sharding: this pod's namespace"
    )
    parser.add_argument(
        "--log.level", dest="log_level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument("--log.format", dest="log_format", default="logfmt", choices=["logfmt", "json"])
    parser.add_argument("--version", action="version", version=f"skyserve-exporter {__version__}")
    args = parser.parse_args(argv)
    problem = _sharding_problem(args)
    if problem is not None:
        parser.error(problem)
    return args


def _sharding_problem(args: argparse.Namespace) -> str | None:
    """Why the sharding flags cannot work together, or None."""
    if args.pod is not None or args.pod_namespace is not None:
        if not args.pod or not args.pod_namespace:
            return "--pod and --pod-namespace go together, and neither may be empty"
        if args.shard is not None or args.total_shards is not None:
            return "--pod reads the shard from its StatefulSet: leave out --shard and --total-shards"
        return None
    total = 1 if args.total_shards is None else args.total_shards
    shard = 0 if args.shard is None else args.shard
    if total < 1:
        return f"--total-shards must be at least 1, got {total}"
    if not 0 <= shard < total:
        return f"--shard must be from 0 to {total - 1} (--total-shards {total} minus 1), got {shard}"
    return None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _http_url(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"expected an http or https URL, got {text!r}")
    return text.strip()


def _link(text: str) -> str:
    """An http(s) URL, or a path relative to the exporter's root (``docs/metrics``)."""
    if urlsplit(text.strip()).scheme or "://" in text:
        return _http_url(text)
    if not text.strip():
        raise argparse.ArgumentTypeError("expected an http or https URL or a relative path")
    return text.strip()


def run(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logger = setup_logging(args.log_level, args.log_format)
    if not args.demo:
        return _run_with(args, logger, None)
    # Only --demo loads the simulator: a normal start imports none of it.
    from exporter.demo import DemoOptions, demo_config, start_simulator  # noqa: PLC0415

    options = DemoOptions(services=args.demo_services, replicas=args.demo_replicas, seed=args.demo_seed)
    simulator = start_simulator(options)
    factories = discover()
    try:
        return _run_with(args, logger, lambda raw: demo_config(raw, simulator, factories))
    finally:
        simulator.stop()


ConfigAdjustment = Callable[[ExporterConfig], ExporterConfig]


def _run_with(args: argparse.Namespace, logger: logging.Logger, adjust: ConfigAdjustment | None) -> int:
    shard = CurrentShard()
    running = _running_collectors(args, logger, adjust, shard)
    try:
        running.load()
    except ConfigError as exc:
        print("config error:\n  " + "\n  ".join(exc.problems), file=sys.stderr)
        return EXIT_CONFIG
    collectors = running.collectors
    try:
        web = WebConfigWatcher(args.web_config_file, logger) if args.web_config_file else None
    except WebConfigError as exc:
        print(f"web config error:\n  {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.config_check:
        print(f"config OK: collectors {', '.join(c.name for c in collectors)}")
        return 0
    # Services (the price book) serve the other collectors; alone they watch nothing.
    if all(isinstance(collector, ServiceProvider) for collector in collectors):
        hint = (
            f"{args.config} enables none: add a section under collectors:"
            if args.config
            else "set SKYPILOT_API_SERVER_ENDPOINT, or pass --config or --demo"
        )
        logger.warning("no collector enabled", extra={"hint": hint})
    try:
        watch = _shard_at_start(args, shard, logger)
    except ShardDiscoveryError as exc:
        print(f"sharding error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.once:
        return _collect_once(running, logger, shard())
    return _serve(args, running, web, logger, shard=shard, watch=watch)


def _shard_at_start(
    args: argparse.Namespace, current: CurrentShard, logger: logging.Logger
) -> ShardWatch | None:
    """Set the shard from the flags, or read it from the pod's StatefulSet (then also return what
    keeps it up to date); ShardDiscoveryError when it cannot be read."""
    if args.pod is None:
        current.set(Shard(args.shard or 0, args.total_shards or 1))
        watch = None
    else:
        source = StatefulSetShard(args.pod, args.pod_namespace, InClusterApi.from_environ(os.environ))
        current.set(source.read())
        watch = ShardWatch(source, current, logger)
    shard = current()
    if shard.sharded or watch is not None:
        where = {"shard": shard.index, "total_shards": shard.total, "pod": args.pod or ""}
        logger.info("sharding", extra=where)
        warn_if_surplus(shard, logger)
    return watch


def _running_collectors(
    args: argparse.Namespace, logger: logging.Logger, adjust: ConfigAdjustment | None, shard: CurrentShard
) -> RunningCollectors:
    """The collectors the config names, loaded now and re-loaded the same way on every reload."""
    environ = dict(os.environ)
    factories = discover()

    def load() -> LoadedConfig:
        raw = read_config(args.config, factories, environ)
        if adjust is not None:
            raw = adjust(raw)
        return validate_config(raw, factories)

    store = SnapshotStore({}, started_at=time.time())
    return RunningCollectors(load, store, environ, time.time, logger, sharding=shard)


def _collect_once(running: RunningCollectors, logger: logging.Logger, shard: Shard) -> int:
    store = running.store
    # Those that work on what the others discover run last, so they see it.
    for collector in sorted(running.collectors, key=waits_for_discoveries):
        snapshot = DeadlineRunner(collector, time.time, logger).run()
        if snapshot is not None:  # always, for a runner that has never run
            store.put(snapshot)
    views = store.view(time.time())
    sys.stdout.buffer.write(b"".join(scrape_body(views, Format.TEXT, gzipped=False, shard=shard)))
    sys.stdout.flush()
    return 0 if all(view.up for view in views) else 1


def _serve(
    args: argparse.Namespace,
    running: RunningCollectors,
    web: WebConfigWatcher | None,
    logger: logging.Logger,
    *,
    shard: CurrentShard,
    watch: ShardWatch | None,
) -> int:
    store = running.store

    def routes() -> dict[str, Route]:
        return routes_of(running.collectors)

    app = create_app(
        store,
        time.time,
        routes=routes,
        reload=reload_handler(running, watch) if args.enable_lifecycle else None,
        web_config=None if web is None else lambda: _web_status(web),
        console=ConsoleSettings(demo=args.demo, docs_url=args.docs_url, grafana_url=args.grafana_url or ""),
        shard=shard,
    )
    try:
        limits = replace(
            ServerLimits(),
            read_header_timeout=args.read_header_timeout,
            idle_timeout=args.idle_timeout,
            max_connections=args.max_connections,
            max_probes=args.max_probes,
        )
        server = HTTPServer(app, args.listen, logger, limits, web, routes=routes)
    except (ListenAddressError, OSError) as exc:
        logger.error("cannot listen", extra={"address": args.listen, "error": str(exc)})
        return EXIT_CONFIG
    scheduler = CollectorScheduler(store, time.time, logger)
    running.run_with(scheduler)
    scheduler.start()
    if watch is not None:
        watch.start()
    logger.info("listening", extra={"address": args.listen, "port": server.port, "version": __version__})

    try:
        server.serve_until_signalled(on_hangup=reload_handler(running, watch))
    finally:
        if watch is not None:
            watch.stop()
        scheduler.shutdown()
    logger.info("stopped")
    return 0


def reload_handler(running: RunningCollectors, watch: ShardWatch | None) -> Callable[[], str | None]:
    """What SIGHUP and ``POST /-/reload`` do: re-read everything the exporter was told, the
    StatefulSet's size too; the reason the config was rejected, or None."""

    def reload() -> str | None:
        if watch is not None:
            watch.refresh()
        return running.reload()

    return reload


def _web_status(web: WebConfigWatcher) -> ReloadStatus:
    return ReloadStatus(web.last_reload_successful, web.last_reload_success_timestamp)


_SWITCH_INTERVAL_SECONDS = 0.0005


def main() -> None:
    # Parsing a 10k-replica upstream answer allocates millions of small objects, each allocation
    # burst triggering young-generation collections that find nothing to free; collecting less
    # often cut the Kubernetes collector's fetch time by almost half (docs/performance.md).
    gc.set_threshold(50_000, 20, 100)
    keep_big_blocks_apart()
    # A scrape passes the GIL between threads several times (the loop, the app's thread, the loop
    # again for each socket buffer's worth of a big body); while a collection computes, each pass
    # waited for the switch interval, 5 ms by default, which made a scrape during a 100k-replica
    # collection take about 100 ms. Threads that do not wait for the GIL are not interrupted.
    sys.setswitchinterval(_SWITCH_INTERVAL_SECONDS)
    code = run()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # A collector thread may still be blocked in an upstream call for up to its timeout, and the
    # interpreter would join it at exit; the snapshots are in memory only, so nothing is lost.
    os._exit(code)

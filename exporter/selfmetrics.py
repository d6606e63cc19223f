"""The exporter's own health, rendered fresh at every scrape (a few dozen samples at most)."""

import platform
from collections.abc import Sequence

from prometheus_client.core import Metric

from exporter import __version__
from exporter.errors import ErrorKind
from exporter.metrics import FamilyBuilder, MetricSpec, MetricTable
from exporter.sharding import UNSHARDED, Shard
from exporter.snapshot import CollectorView, ReloadStatus

SELF_METRICS = MetricTable(
    (
        MetricSpec(
            "skyserve_exporter_build_info",
            "gauge",
            "Always 1; the exporter's version and Python version.",
            ("version", "python_version"),
        ),
        MetricSpec(
            "skyserve_exporter_collector_up",
            "gauge",
            "1 if the collector's last run succeeded, 0 if it failed or has not run yet.",
            ("collector",),
        ),
        MetricSpec(
            "skyserve_exporter_collector_duration_seconds",
            "gauge",
            "Duration of the collector's last run (fetch, build and render).",
            ("collector",),
        ),
        MetricSpec(
            "skyserve_exporter_collector_last_success_timestamp_seconds",
            "gauge",
            "Unix time at which the collector's last successful run started; absent before the first.",
            ("collector",),
        ),
        MetricSpec(
            "skyserve_exporter_collector_data_stale",
            "gauge",
            "1 if the collector has run but none of its data is served: no run has succeeded yet,"
            " or its last good data is older than its staleness limit.",
            ("collector",),
        ),
        MetricSpec(
            "skyserve_exporter_collector_errors_total",
            "counter",
            "Failed collector runs by reason (timeout, unavailable, auth, parse, other).",
            ("collector", "reason"),
        ),
        MetricSpec(
            "skyserve_exporter_collector_runs_skipped_total",
            "counter",
            "Runs not started because the collector's previous run was still busy past its timeout.",
            ("collector",),
        ),
        MetricSpec(
            "skyserve_exporter_records_skipped_total",
            "counter",
            "Malformed upstream records skipped (the rest of the run is still exported), by reason.",
            ("collector", "reason"),
        ),
        MetricSpec(
            "skyserve_exporter_config_last_reload_successful",
            "gauge",
            "1 if the last attempt to load --config succeeded (at start or on reload), 0 if it was rejected.",
            (),
        ),
        MetricSpec(
            "skyserve_exporter_config_last_reload_success_timestamp_seconds",
            "gauge",
            "Unix time of the last successful load of --config (at start or on reload).",
            (),
        ),
        MetricSpec(
            "skyserve_exporter_web_config_last_reload_successful",
            "gauge",
            "1 if the last load of --web.config.file succeeded, 0 if a change was rejected "
            "(the last good one is used).",
            (),
        ),
        MetricSpec(
            "skyserve_exporter_web_config_last_reload_success_timestamp_seconds",
            "gauge",
            "Unix time of the last successful load of --web.config.file.",
            (),
        ),
        MetricSpec(
            "skyserve_exporter_upstream_info",
            "gauge",
            "Always 1; version of the upstream a collector last talked to.",
            ("collector", "version", "api_version"),
        ),
        MetricSpec(
            "skyserve_exporter_shard_info",
            "gauge",
            "Always 1; which shard of the fleet this exporter serves (shard 0 of 1 when unsharded).",
            ("shard", "total_shards"),
        ),
        MetricSpec(
            "skyserve_exporter_total_shards",
            "gauge",
            "Shards the fleet is split into (total_shards of skyserve_exporter_shard_info, as a value "
            "alerts can compare with a count); 1 when unsharded.",
            (),
        ),
    )
)


def self_families(
    views: Sequence[CollectorView],
    reload: ReloadStatus | None = None,
    web: ReloadStatus | None = None,
    shard: Shard = UNSHARDED,
) -> list[Metric]:
    out = FamilyBuilder(SELF_METRICS, refresh_seconds=None)
    out.add("skyserve_exporter_build_info", (__version__, platform.python_version()), 1)
    out.add("skyserve_exporter_shard_info", (str(shard.index), str(shard.total)), 1)
    out.add("skyserve_exporter_total_shards", (), shard.total)
    for prefix, status in (("config", reload), ("web_config", web)):
        if status is not None:
            successful = 1 if status.successful else 0
            out.add(f"skyserve_exporter_{prefix}_last_reload_successful", (), successful)
            out.add(
                f"skyserve_exporter_{prefix}_last_reload_success_timestamp_seconds",
                (),
                status.success_timestamp,
            )
    for view in views:
        _add_view(out, view)
    return out.families()


def _add_view(out: FamilyBuilder, view: CollectorView) -> None:
    name = (view.name,)
    out.add("skyserve_exporter_collector_up", name, 1 if view.up else 0)
    if view.last_run is not None:
        out.add("skyserve_exporter_collector_duration_seconds", name, view.last_run.duration)
    good = view.last_good
    if good is not None:
        out.add("skyserve_exporter_collector_last_success_timestamp_seconds", name, good.started_at)
    # Before any run nothing is known yet (readiness covers that); after one, no data served is
    # the same to a dashboard whether the runs failed from the start or the data aged out.
    stale = view.last_run is not None and not view.fresh
    out.add("skyserve_exporter_collector_data_stale", name, 1 if stale else 0)
    for kind in ErrorKind:
        out.add("skyserve_exporter_collector_errors_total", (view.name, kind.value), view.errors.get(kind, 0))
    out.add("skyserve_exporter_collector_runs_skipped_total", name, view.runs_skipped)
    for reason, count in sorted(view.skipped.items()):
        out.add("skyserve_exporter_records_skipped_total", (view.name, reason), count)
    serving = view.serving
    if serving is not None and serving.build is not None and serving.build.upstream:
        upstream = serving.build.upstream
        labels = (view.name, upstream.get("version", ""), upstream.get("api_version", ""))
        out.add("skyserve_exporter_upstream_info", labels, 1)

"""The exporter's state for people: the one document behind the console at ``/`` and ``/api/v1/status``.

Everything either shows is computed here, from what the collectors' last served builds summarised
(``ServiceSummary``, ``CheckSummary``: aggregates, never per-replica lists) and from the store's
view of each collector, so the page and the JSON cannot disagree. Ages are computed from
timestamps at the request; nothing here walks replicas, so a request costs the same at 10 or 10,000
replicas per service.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from exporter import __version__
from exporter.collector import CheckSummary, ServiceSummary
from exporter.sharding import UNSHARDED, Shard
from exporter.snapshot import CollectorView, Snapshot

# Cloud providers' convention for a month of list prices (730 h), as the pricing plugin's.
HOURS_PER_MONTH = 730.0
# Services the cost section names one by one; the rest are summed.
TOP_SERVICES = 10
READY = "READY"

# Collector states, worst last.
OK, FAILING, STALE, PENDING = "ok", "failing", "stale", "pending"


@dataclass(frozen=True)
class ConsoleSettings:
    """What the exporter was told about the console: demo mode and where the links go.

    ``docs_url`` and ``grafana_url`` are used as given; relative ones are relative to the exporter's
    root, as the page's own links are (it may be served under a path prefix).
    """

    demo: bool = False
    docs_url: str = "docs/metrics"
    grafana_url: str = ""


def status_document(
    views: Sequence[CollectorView],
    ready: bool,
    now: float,
    settings: ConsoleSettings = ConsoleSettings(),
    shard: Shard = UNSHARDED,
) -> dict[str, Any]:
    return _document(views, ready, now, settings, fleet_figures(views), shard=shard)


class StatusDocuments:
    """``status_document`` for a running app: the fleet figures (all the per-service work) are kept
    until the data served changes (a run stored, or data turning stale); the rest, ages included,
    is made at each request."""

    def __init__(self, settings: ConsoleSettings = ConsoleSettings()) -> None:
        self._settings = settings
        self._last: tuple[tuple[tuple[str, Snapshot | None], ...], dict[str, Any]] | None = None

    def __call__(
        self, views: Sequence[CollectorView], ready: bool, now: float, shard: Shard = UNSHARDED
    ) -> dict[str, Any]:
        served = tuple((view.name, view.serving) for view in views)
        last = self._last
        if last is not None and _same(last[0], served):
            fleet = last[1]
        else:
            fleet = fleet_figures(views)
            self._last = (served, fleet)
        return _document(views, ready, now, self._settings, fleet, shard=shard)


def _same(a: Sequence[tuple[str, Snapshot | None]], b: Sequence[tuple[str, Snapshot | None]]) -> bool:
    return len(a) == len(b) and all(x[0] == y[0] and x[1] is y[1] for x, y in zip(a, b, strict=True))


def fleet_figures(views: Sequence[CollectorView]) -> dict[str, Any]:
    """What the served data says: cost, probes and services. Depends only on which runs are served."""
    summaries = [(view.name, service) for view in views for service in _services(view)]
    checks = [(view.name, found) for view in views if (found := _checks_of(view)) is not None]
    per_service_checks = _checks_by_service(summary for _, summary in checks)
    services = sorted(
        (_service_entry(collector, service) for collector, service in summaries),
        key=lambda s: (s["name"], s["kind"], s["source"], s["collector"]),
    )
    return {
        "cost": _cost(summaries),
        "probes": _probes(checks),
        "service_groups": _groups(services, per_service_checks),
        "services": services,
    }


def _document(
    views: Sequence[CollectorView],
    ready: bool,
    now: float,
    settings: ConsoleSettings,
    fleet: dict[str, Any],
    *,
    shard: Shard,
) -> dict[str, Any]:
    # Collectors that have run but whose data is not served: what they would add is missing.
    missing = [view.name for view in views if _state(view) == STALE]
    return {
        "version": __version__,
        "ready": ready,
        "generated_at": now,
        "demo": settings.demo,
        # A shard shows its share of the fleet only: the figures below are this shard's.
        "shard": {"index": shard.index, "total": shard.total},
        "links": {
            "metrics": "metrics",
            "status": "api/v1/status",
            "docs": settings.docs_url,
            "grafana": settings.grafana_url or None,
        },
        "collectors": [_collector_entry(view, now) for view in views],
        "cost": {**fleet["cost"], "missing_collectors": missing},
        "probes": fleet["probes"],
        "service_groups": fleet["service_groups"],
        "services": fleet["services"],
    }


def _checks_of(view: CollectorView) -> CheckSummary | None:
    serving = view.serving
    return None if serving is None or serving.build is None else serving.build.checks


def _state(view: CollectorView) -> str:
    if view.last_run is None:
        return PENDING
    if view.serving is None:
        return STALE  # has run, and none of its data is served: skyserve_exporter_collector_data_stale 1
    return OK if view.up else FAILING


def _collector_entry(view: CollectorView, now: float) -> dict[str, Any]:
    last = view.last_run
    serving = view.serving
    good = view.last_good
    data_age = None if good is None else max(0.0, now - (good.started_at + good.duration))
    return {
        "name": view.name,
        "state": _state(view),
        "up": view.up,
        "ready": view.waiting_for is None,
        "waiting_for": view.waiting_for,
        "interval_seconds": view.interval,
        "stale_after_seconds": view.stale_after,
        "last_run": None
        if last is None
        else {
            "started_at": last.started_at,
            "age_seconds": round(max(0.0, now - last.started_at), 3),
            "duration_seconds": round(last.duration, 6),
            "ok": last.ok,
            "error_kind": last.error_kind.value if last.error_kind else None,
            "error": last.error,
        },
        "last_success_at": good.started_at if good else None,
        "last_success_age_seconds": None if good is None else round(max(0.0, now - good.started_at), 3),
        # While failing, the last good data is served until it is stale_after old.
        "stale_in_seconds": None
        if serving is None or data_age is None or view.up
        else round(max(0.0, view.stale_after - data_age), 3),
        "serving_data": serving is not None,
        "samples": serving.series.samples if serving and serving.series else 0,
        "errors": {kind.value: count for kind, count in view.errors.items()},
        "records_skipped": dict(view.skipped),
    }


def _services(view: CollectorView) -> tuple[ServiceSummary, ...]:
    serving = view.serving
    if serving is None or serving.build is None:
        return ()
    return serving.build.services


def _service_entry(collector: str, service: ServiceSummary) -> dict[str, Any]:
    return {
        "name": service.name,
        "source": service.source,
        "collector": collector,
        "kind": service.kind,
        "status": service.status,
        "ready_replicas": service.ready_replicas,
        "total_replicas": service.total_replicas,
        "target_replicas": service.target_replicas,
        "replicas_by_status": dict(sorted(service.replicas_by_status.items())),
        "clouds": list(service.clouds),
        "hourly_cost_dollars": service.hourly_cost,
        "priced_replicas": sum(piece.replicas for piece in service.costs),
        "cost_by_placement": [
            {"cloud": p.cloud, "spot": p.spot, "hourly_dollars": p.hourly_cost, "replicas": p.replicas}
            for p in service.costs
        ],
        "unpriced_replicas": dict(sorted(service.unpriced.items())),
    }


def _sum_rows(rows: Iterable[tuple[str, float, int]]) -> list[tuple[str, float, int]]:
    """(key, dollars, replicas) summed by key, most expensive first."""
    sums: dict[str, list[float]] = {}
    for key, amount, count in rows:
        entry = sums.setdefault(key, [0.0, 0])
        entry[0] += amount
        entry[1] += count
    return sorted(((key, total, int(n)) for key, (total, n) in sums.items()), key=lambda r: (-r[1], r[0]))


def _cost(summaries: Sequence[tuple[str, ServiceSummary]]) -> dict[str, Any]:
    pieces = [piece for _, service in summaries for piece in service.costs]
    hourly = sum((piece.hourly_cost for piece in pieces), 0.0)
    unpriced: Counter[str] = Counter()
    for _, service in summaries:
        unpriced.update(service.unpriced)
    split: dict[tuple[str, bool], float] = {}  # (cloud, spot) -> dollars
    for piece in pieces:
        split[(piece.cloud, piece.spot)] = split.get((piece.cloud, piece.spot), 0.0) + piece.hourly_cost
    capacity = {
        key: (dollars, n)
        for key, dollars, n in _sum_rows(
            ("spot" if p.spot else "on_demand", p.hourly_cost, p.replicas) for p in pieces
        )
    }
    by_name = _sum_rows((s.name, s.hourly_cost, 0) for _, s in summaries if s.kind == "service")
    top, rest = by_name[:TOP_SERVICES], by_name[TOP_SERVICES:]
    return {
        "hourly_dollars": hourly,
        "monthly_dollars": hourly * HOURS_PER_MONTH,
        "hours_per_month": HOURS_PER_MONTH,
        "priced_replicas": sum(p.replicas for p in pieces),
        "unpriced_replicas": sum(unpriced.values()),
        "unpriced_by_reason": dict(sorted(unpriced.items(), key=lambda item: (-item[1], item[0]))),
        "by_cloud": [
            {
                "cloud": cloud,
                "hourly_dollars": dollars,
                "spot_hourly_dollars": split.get((cloud, True), 0.0),
                "on_demand_hourly_dollars": split.get((cloud, False), 0.0),
                "replicas": n,
            }
            for cloud, dollars, n in _sum_rows((p.cloud, p.hourly_cost, p.replicas) for p in pieces)
        ],
        "by_capacity": {
            kind: {
                "hourly_dollars": capacity.get(kind, (0.0, 0))[0],
                "replicas": capacity.get(kind, (0.0, 0))[1],
            }
            for kind in ("on_demand", "spot")
        },
        "by_source": [
            {"source": source, "hourly_dollars": dollars, "replicas": n}
            for source, dollars, n in _sum_rows(
                (s.source, s.hourly_cost, sum(p.replicas for p in s.costs)) for _, s in summaries
            )
        ],
        "by_kind": [
            {"kind": kind, "hourly_dollars": dollars, "share": _share(dollars, hourly)}
            for kind, dollars, _ in _sum_rows((s.kind, s.hourly_cost, 0) for _, s in summaries)
        ],
        "by_service": {
            "top": [
                {"name": name, "hourly_dollars": dollars, "share": _share(dollars, hourly)}
                for name, dollars, _ in top
            ],
            "others": {
                "services": len(rest),
                "hourly_dollars": sum((dollars for _, dollars, _ in rest), 0.0),
            },
        },
    }


def _share(part: float, whole: float) -> float:
    return part / whole if whole > 0 else 0.0


def _checks_by_service(summaries: Iterable[CheckSummary]) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for summary in summaries:
        for service in summary.by_service:
            ok, total = found.get(service.service_name, (0, 0))
            found[service.service_name] = (ok + service.ok, total + service.total)
    return found


def _probes(present: Sequence[tuple[str, CheckSummary]]) -> dict[str, Any] | None:
    """Every collector's endpoint checks together; None when no collector reports any."""
    if not present:
        return None
    failing = [
        {
            "target": check.target,
            "kind": check.kind,
            "service_name": check.service_name,
            "replica_id": check.replica_id,
            "error": check.error,
            "status_code": check.status_code,
            "latency_seconds": round(check.latency_seconds, 6),
            "collector": name,
        }
        for name, summary in present
        for check in summary.failing
    ]
    total = sum(summary.total for _, summary in present)
    failed = sum(summary.failed for _, summary in present)
    return {
        "collectors": [name for name, _ in present],
        "total": total,
        "ok": total - failed,
        "failed": failed,
        "failing": failing,
        "failing_not_listed": sum(summary.failing_not_listed for _, summary in present),
    }


def _groups(services: Sequence[dict[str, Any]], checks: dict[str, tuple[int, int]]) -> list[dict[str, Any]]:
    """One group per service name (and kind), whatever the sources: totals, probe results, and what
    needs attention. Groups needing attention come first, then the most expensive."""
    by_name: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for entry in services:
        by_name.setdefault((entry["name"], entry["kind"]), []).append(entry)
    groups = []
    for (name, kind), entries in by_name.items():
        targets = [e["target_replicas"] for e in entries if e["target_replicas"] is not None]
        ok, total = checks.get(name, (0, 0)) if kind == "service" else (0, 0)
        group = {
            "name": name,
            "kind": kind,
            "sources": [e["source"] for e in entries],
            "ready_replicas": sum(e["ready_replicas"] for e in entries),
            "total_replicas": sum(e["total_replicas"] for e in entries),
            "target_replicas": sum(targets) if len(targets) == len(entries) else None,
            "hourly_cost_dollars": sum((e["hourly_cost_dollars"] for e in entries), 0.0),
            "unpriced_replicas": sum(sum(e["unpriced_replicas"].values()) for e in entries),
            "probes": {"ok": ok, "total": total} if total else None,
        }
        group["attention"] = _attention(entries, group)
        groups.append(group)
    groups.sort(key=lambda g: (not g["attention"], -g["hourly_cost_dollars"], g["name"], g["kind"]))
    return groups


# A controller is a cluster: SkyPilot's ClusterStatus says UP where a service says READY.
_HEALTHY = {"controller": "UP"}


def _attention(entries: Sequence[dict[str, Any]], group: dict[str, Any]) -> list[str]:
    """Why a service needs a look, in words; empty when it does not."""
    found = [
        f"{e['source']} status {e['status']}"
        for e in entries
        if e["status"] != _HEALTHY.get(e["kind"], READY)
    ]
    for entry in entries:
        target = entry["target_replicas"]
        if target is not None and entry["ready_replicas"] < target:
            found.append(f"{entry['source']}: {entry['ready_replicas']} of {target} target replicas ready")
    probes = group["probes"]
    if probes and probes["ok"] < probes["total"]:
        found.append(f"{probes['total'] - probes['ok']} of {probes['total']} probes failing")
    return found

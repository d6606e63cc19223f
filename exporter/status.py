"""The exporter's state for people: the data behind ``/`` and ``/api/v1/status``."""

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from exporter import __version__
from exporter.snapshot import CollectorView


def status_document(views: Sequence[CollectorView], ready: bool) -> dict[str, Any]:
    return {
        "version": __version__,
        "ready": ready,
        "collectors": [_collector_entry(view) for view in views],
        "services": [_service_entry(view.name, service) for view in views for service in _services(view)],
    }


def _collector_entry(view: CollectorView) -> dict[str, Any]:
    last = view.last_run
    serving = view.serving
    return {
        "name": view.name,
        "up": view.up,
        "ready": view.waiting_for is None,
        "waiting_for": view.waiting_for,
        "interval_seconds": view.interval,
        "stale_after_seconds": view.stale_after,
        "last_run": None
        if last is None
        else {
            "started_at": last.started_at,
            "duration_seconds": round(last.duration, 6),
            "ok": last.ok,
            "error_kind": last.error_kind.value if last.error_kind else None,
            "error": last.error,
        },
        "last_success_at": view.last_good.started_at if view.last_good else None,
        "serving_data": serving is not None,
        "samples": serving.series.samples if serving and serving.series else 0,
        "errors": {kind.value: count for kind, count in view.errors.items()},
        "records_skipped": dict(view.skipped),
    }


def _services(view: CollectorView) -> list[Any]:
    serving = view.serving
    if serving is None or serving.build is None:
        return []
    return list(serving.build.services)


def _service_entry(collector: str, service: Any) -> dict[str, Any]:
    entry = asdict(service)
    entry["clouds"] = list(service.clouds)
    entry["collector"] = collector
    return entry

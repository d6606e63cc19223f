"""Running a ``serve.status`` request and encoding it as ``/api/get`` returns it.

Mirrors skypilot 0.14.1 ``serve/server/impl.py status`` (ClusterNotUpError "No live services."
when there is no controller, i.e. no services), ``serve_state.get_glob_service_names`` (SQL
LIKE patterns, ``*`` as wildcard) and ``Request.encode`` / ``serialize_serve_status``.
"""

import json
import re
from typing import Any

from simulator import wire
from simulator.fleet import Fleet
from simulator.requests_store import Outcome, SimRequest


def _like(pattern: str) -> re.Pattern[str]:
    """SQLite ``LIKE`` (case-insensitive; ``%``/``_`` wildcards) after SkyPilot maps ``*`` to ``%``."""
    wildcards = {"*": ".*", "%": ".*", "_": "."}
    body = "".join(wildcards.get(ch, re.escape(ch)) for ch in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def _matching(services: list[dict[str, Any]], patterns: tuple[str, ...]) -> list[dict[str, Any]]:
    compiled = [_like(p) for p in patterns]
    return [s for s in services if any(c.fullmatch(s["name"]) for c in compiled)]


def failed(error_type: str, message: str, finished_at: float) -> Outcome:
    return Outcome("FAILED", "null", wire.encode_error(error_type, message), finished_at)


def run_status(fleet: Fleet, request: SimRequest, finished_at: float) -> Outcome:
    services = fleet.services()
    if not services:
        return failed("ClusterNotUpError", "No live services.", finished_at)
    if request.service_names is not None:
        services = _matching(services, request.service_names)
    return Outcome("SUCCEEDED", json.dumps(services), "null", finished_at)


def with_old_handles(return_value: str) -> str:
    """What an old client (API version < 51, or none sent) gets: a base64 blob per replica handle."""
    services = json.loads(return_value)
    for service in services:
        for replica in service.get("replica_info", []):
            has_cluster = "cloud" in replica
            replica["handle"] = wire.FAKE_HANDLE if has_cluster else wire.EMPTY_PICKLED_VALUE
    return json.dumps(services)


def payload(request: SimRequest, outcome: Outcome, return_value: str) -> dict[str, Any]:
    """``RequestPayload`` as ``Request.encode()`` fills it, field for field."""
    return {
        "request_id": request.request_id,
        "name": wire.REQUEST_NAME,
        "entrypoint": wire.EMPTY_PICKLED_VALUE,
        "request_body": wire.EMPTY_PICKLED_VALUE,
        "status": outcome.status,
        "created_at": request.created_at,
        "user_id": request.user_id,
        "return_value": return_value,
        "error": outcome.error,
        "pid": request.pid,
        "schedule_type": wire.SCHEDULE_TYPE,
        "user_name": None,
        "cluster_name": wire.SERVE_CONTROLLER_NAME,
        "status_msg": None,
        "should_retry": False,
        "finished_at": outcome.finished_at,
        "file_mounts_blob_id": None,
    }

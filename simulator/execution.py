"""Running a ``serve.status`` or ``status`` request and encoding it as ``/api/get`` returns it.

Mirrors skypilot 0.14.1 ``serve/server/impl.py status``: first ``check_network_connection``
(RuntimeError "Failed to refresh services status due to network error." on a server without
internet), then ``is_controller_accessible`` (ClusterNotUpError "No live services." when the
controller is missing or STOPPED), then the services, which may be none while the controller is
up; ``serve_state.get_glob_service_names`` (SQL LIKE patterns, ``*`` as wildcard);
``core.status`` for clusters (``simulator.controller``); and ``Request.encode`` /
``serialize_serve_status``.
"""

import json
import re
from collections.abc import Iterable
from typing import Any

from simulator import wire
from simulator.controller import Controller, ControllerState, compatible
from simulator.fleet import Fleet
from simulator.requests_store import Outcome, SimRequest

NETWORK_ERROR = "Failed to refresh services status due to network error."
NO_SERVICES = "No live services."
# impl.status(pool=True): the noun is "pool", and the jobs controller's hint has no "service" to replace.
POOL_NETWORK_ERROR = "Failed to refresh pools status due to network error."
NO_POOLS = "No in-progress managed jobs."


def _like(pattern: str) -> re.Pattern[str]:
    """SQLite ``LIKE`` (case-insensitive; ``%``/``_`` wildcards) after SkyPilot maps ``*`` to ``%``."""
    wildcards = {"*": ".*", "%": ".*", "_": "."}
    body = "".join(wildcards.get(ch, re.escape(ch)) for ch in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def _matching(services: list[dict[str, Any]], patterns: tuple[str, ...]) -> list[dict[str, Any]]:
    compiled = [_like(p) for p in patterns]
    return [s for s in services if any(c.fullmatch(s["name"]) for c in compiled)]


def failed(
    error_type: str, message: str, finished_at: float, attributes: dict[str, Any] | None = None
) -> Outcome:
    return Outcome("FAILED", "null", wire.encode_error(error_type, message, attributes), finished_at)


def run_status(
    fleet: Fleet, controller: ControllerState, request: SimRequest, finished_at: float, offline: bool = False
) -> Outcome:
    """``serve.status``; ``offline``: the API server cannot reach the internet."""
    if offline:
        return failed("RuntimeError", NETWORK_ERROR, finished_at)
    if not controller.accessible:
        # ClusterNotUpError's own attributes. For a STOPPED controller the real ones hold
        # ClusterStatus.STOPPED and the handle, which cannot be pickled without SkyPilot; so the
        # CLI shows its "(See: sky serve -h)" hint here, which for a real stopped one it leaves out.
        return failed("ClusterNotUpError", NO_SERVICES, finished_at, {"cluster_status": None, "handle": None})
    services = fleet.services()
    if request.service_names is not None:
        services = _matching(services, request.service_names)
    return Outcome("SUCCEEDED", json.dumps(services), "null", finished_at)


def run_pool_status(
    pools: list[dict[str, Any]],
    controller: ControllerState,
    request: SimRequest,
    finished_at: float,
    offline: bool = False,
) -> Outcome:
    """``jobs.pool_status``: as ``serve.status``, on the jobs controller."""
    if offline:
        return failed("RuntimeError", POOL_NETWORK_ERROR, finished_at)
    if not controller.accessible:
        return failed("ClusterNotUpError", NO_POOLS, finished_at, {"cluster_status": None, "handle": None})
    if request.service_names is not None:
        pools = _matching(pools, request.service_names)
    return Outcome("SUCCEEDED", json.dumps(pools), "null", finished_at)


def run_cluster_status(controllers: Iterable[Controller], request: SimRequest, finished_at: float) -> Outcome:
    """``status``: the clusters the query selects (the controllers there are); it needs no internet."""
    assert request.clusters is not None
    clusters = request.clusters
    records = [record for c in controllers for record in c.records(clusters, request.user_id)]
    # global_user_state.get_clusters: latest launched first.
    records.sort(key=lambda record: -record["launched_at"])
    return Outcome("SUCCEEDED", json.dumps(records), "null", finished_at)


def for_client(return_value: str, api_version: int | None) -> str:
    """A ``status`` result as encoded for the client asking (``serialize_status``)."""
    return json.dumps(compatible(json.loads(return_value), api_version))


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
        "name": request.name,
        "entrypoint": wire.EMPTY_PICKLED_VALUE,
        "request_body": wire.EMPTY_PICKLED_VALUE,
        "status": outcome.status,
        "created_at": request.created_at,
        "user_id": request.user_id,
        "return_value": return_value,
        "error": outcome.error,
        "pid": request.pid,
        # server.py's /status: a refreshing status goes to the long-request queue.
        "schedule_type": "long"
        if request.clusters and request.clusters.refresh != "NONE"
        else wire.SCHEDULE_TYPE,
        "user_name": None,
        # serve.status is scheduled with request_cluster_name=SKY_SERVE_CONTROLLER_NAME,
        # jobs.pool_status with JOB_CONTROLLER_NAME; status without.
        "cluster_name": _request_cluster_name(request),
        "status_msg": None,
        "should_retry": False,
        "finished_at": outcome.finished_at,
        "file_mounts_blob_id": None,
    }


def _request_cluster_name(request: SimRequest) -> str | None:
    if request.pools:
        return wire.JOBS_CONTROLLER_NAME
    return wire.SERVE_CONTROLLER_NAME if request.clusters is None else None

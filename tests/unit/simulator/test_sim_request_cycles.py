"""Answering a request leaves no reference cycle behind in the simulator's WSGI apps.

Under ``--demo`` the simulator serves about a thousand requests a minute inside the exporter's
process, whose cyclic garbage collector runs rarely (exporter.cli raises its thresholds): a
request that is a cycle keeps its environ, input stream and socket until then.
"""

import gc
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from simulator.api import ApiApp, ApiConfig
from simulator.counter import RequestCounter
from simulator.dataplane import DataPlaneApp
from simulator.faults import FaultSwitch
from simulator.fleet import Fleet
from simulator.kubernetes_cluster import KubeFleet
from simulator.kubernetes_server import KubernetesEndpoint

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def _call(app: WsgiApp, path: str, method: str = "GET", json: Any = None) -> tuple[str, bytes]:
    environ = EnvironBuilder(path=path, method=method, json=json).get_environ()
    status: list[str] = []

    def start_response(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        status.append(code)

    body = b"".join(app(environ, start_response))
    return status[0], body


def _requests_left_as_garbage(exercise: Callable[[], None]) -> int:
    """werkzeug Requests that only the cyclic collector would free, after ``exercise``."""
    gc.collect()
    gc.disable()
    try:
        exercise()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        return sum(1 for obj in gc.garbage if isinstance(obj, Request))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_api_requests_are_not_cycles() -> None:
    app = ApiApp(Fleet(2, 2, seed=1), FaultSwitch(), RequestCounter(), ApiConfig())

    def exercise() -> None:
        for _ in range(20):
            _call(app, "/api/health")
            status, _ = _call(app, "/serve/status", "POST", {"service_names": None})
            assert status.startswith("200")
            _call(app, "/api/get?request_id=no-such-request")

    assert _requests_left_as_garbage(exercise) == 0


def test_data_plane_requests_are_not_cycles() -> None:
    fleet = Fleet(2, 2, seed=1)
    fleet.set_endpoint_base("http://127.0.0.1:1")
    app = DataPlaneApp(fleet, RequestCounter())
    name = fleet.services()[0]["name"]

    def exercise() -> None:
        for replica_id in range(20):
            _call(app, f"/services/{name}/health")
            _call(app, f"/replicas/{name}/{replica_id}/health")

    assert _requests_left_as_garbage(exercise) == 0


def test_kubernetes_requests_are_not_cycles() -> None:
    kube = KubernetesEndpoint(KubeFleet(4, 2, 1, seed=1, start_time=1.0), token=None)
    context = kube.fleet.contexts[0]

    def exercise() -> None:
        for _ in range(20):
            _call(kube.wsgi(), f"/clusters/{context}/api/v1/pods")
            _call(kube.wsgi(), "/no/such/path")

    assert _requests_left_as_garbage(exercise) == 0

"""HTTP endpoints standing in for every service's load balancer and every replica's server.

``/services/<name>/...`` answers 200 while the service has a READY replica, and
``/replicas/<name>/<id>/...`` while that replica is READY; 503 otherwise, 404 for unknown ones.
Any path under a prefix (``/``, ``/health``, ...) gets the same answer, as a probe would expect.
"""

from collections.abc import Iterable
from typing import Any

from werkzeug.wrappers import Response

from simulator.counter import RequestCounter
from simulator.fleet import Fleet
from simulator.http_util import wsgi_request


def _answer(ready: bool | None) -> Response:
    if ready is None:
        return Response("not found\n", status=404, mimetype="text/plain")
    if ready:
        return Response("ok", status=200, mimetype="text/plain")
    return Response("not ready\n", status=503, mimetype="text/plain")


class DataPlaneApp:
    def __init__(self, fleet: Fleet, counter: RequestCounter) -> None:
        self._fleet = fleet
        self._counter = counter

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = wsgi_request(environ)
        self._counter.hit(request.path)
        return self._route(request.path)(environ, start_response)

    def _route(self, path: str) -> Response:
        parts = path.strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "services":
            return _answer(self._fleet.service_ready(parts[1]))
        if len(parts) >= 3 and parts[0] == "replicas" and parts[2].isdigit():
            return _answer(self._fleet.replica_ready(parts[1], int(parts[2])))
        return _answer(None)

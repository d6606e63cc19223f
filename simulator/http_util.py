"""Response helpers shared by the simulated API server and data plane."""

import json
from typing import Any

from werkzeug.wrappers import Request, Response


def wsgi_request(environ: dict[str, Any]) -> Request:
    """The request, not stored back into ``environ`` as werkzeug does by default.

    That back-reference makes each request a reference cycle (request -> environ -> request),
    so its environ, input stream and socket wait for the cyclic garbage collector, which the
    exporter runs rarely; under ``--demo`` that was about a thousand requests a minute.
    """
    return Request(environ, populate_request=False)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


def validation_error(kind: str, loc: list[str | int], msg: str, given: Any) -> Response:
    """FastAPI's 422 body for a request that does not fit the endpoint's model."""
    return json_response(422, {"detail": [{"type": kind, "loc": loc, "msg": msg, "input": given}]})

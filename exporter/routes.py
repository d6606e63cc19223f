"""Collector routes (``/probe``) answered by the HTTP server itself, not through the WSGI app.

A probe spends its time waiting on the network, up to its module's timeout. Run by the app, it
would hold one of the threads that answer ``/metrics`` for all that time and pay Flask's per-request
work for a few hundred bytes of answer. The server instead hands a request for a route the running
collectors offer to a pool of its own, bounded by ``--web.max-probes`` (see ``exporter/server.py``);
the route sees the query and headers exactly as the app's catch-all route would pass them, so
either door gives the same answer.
"""

import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from urllib.parse import parse_qsl, unquote_to_bytes

import h11

# Imported for its side effect: it registers the "werkzeug.url_quote" codec error handler with
# which werkzeug decodes a query, so invalid UTF-8 stays percent-encoded here as in request.args.
import werkzeug.urls  # noqa: F401

from exporter.collector import Route
from exporter.wsgi import Answer

Routes = Callable[[], Mapping[str, Route]]
_ROUTE_METHODS = (b"GET", b"HEAD")  # the app's catch-all route answers others with a 405
_PLAIN = b"text/plain; charset=utf-8"


def route_for(request: h11.Request, routes: Mapping[str, Route]) -> Route | None:
    """The collector route ``request`` asks for, or None when the app is to answer it."""
    if request.method not in _ROUTE_METHODS or not routes:
        return None
    path = request.target.partition(b"?")[0]
    return routes.get(unquote_to_bytes(path).decode("latin-1"))


def query_of(request: h11.Request) -> dict[str, str]:
    """The query as Flask's ``request.args.to_dict()``: the first value of each name."""
    query = request.target.partition(b"?")[2]
    found: dict[str, str] = {}
    # h11 refuses a target with bytes outside ASCII, so decoding cannot fail.
    for name, value in parse_qsl(query.decode(), keep_blank_values=True, errors="werkzeug.url_quote"):
        found.setdefault(name, value)
    return found


def headers_of(request: h11.Request) -> dict[str, str]:
    """Header names lower-cased, repeated headers joined, as they reach the app through WSGI."""
    found: dict[str, str] = {}
    for raw_name, raw_value in request.headers:
        # WSGI carries "-" and "_" alike as "_", and werkzeug gives both back as "-".
        name = raw_name.decode("latin-1").lower().replace("_", "-")
        value = raw_value.decode("latin-1")
        found[name] = f"{found[name]}, {value}" if name in found else value
    return found


def call_route(route: Route, request: h11.Request, logger: logging.Logger) -> Answer:
    """Run ``route`` for ``request``; an error in it is logged and answered with a 500."""
    try:
        status, body, content_type = route(query_of(request), headers_of(request))
    except Exception:
        logger.exception("route failed", extra={"path": request.target.partition(b"?")[0].decode()})
        return plain(500, "internal error")
    headers = [(b"Content-Type", content_type.encode("latin-1"))]
    return Answer(status=status, reason=_reason(status), headers=headers, chunks=[body])


def plain(status: int, text: str) -> Answer:
    """A short plain-text answer."""
    return Answer(status, _reason(status), [(b"Content-Type", _PLAIN)], [f"{text}\n".encode()])


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode("latin-1")
    except ValueError:
        return b""

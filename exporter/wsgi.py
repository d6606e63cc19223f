"""Calling a WSGI app (the Flask app) for one request the HTTP server has already read in full.

The server owns the connection and its timeouts; this module only translates: an h11 request into
a PEP 3333 environ, and the app's answer into a status, headers and body chunks held in memory.
"""

import io
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import unquote_to_bytes

import h11

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType]


@dataclass(frozen=True)
class Peer:
    """Who is asking and on which socket: the environ's REMOTE_* and SERVER_* keys."""

    remote_addr: str
    remote_port: int
    server_name: str
    server_port: int
    scheme: str  # http | https


@dataclass(frozen=True)
class Answer:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    chunks: list[bytes]


def call_app(app: WSGIApp, request: h11.Request, body: bytes, peer: Peer) -> Answer:
    """Run ``app`` for one request; the whole answer is collected (exposition bytes are in memory)."""
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [(status, headers)]
        return chunks.append

    chunks: list[bytes] = []
    result = app(environ(request, body, peer), start_response)
    try:
        chunks.extend(chunk for chunk in result if chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status_line, headers = started[0]
    code, _, reason = status_line.partition(" ")
    return Answer(
        status=int(code),
        reason=reason.encode("latin-1"),
        headers=[(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers],
        chunks=chunks,
    )


def environ(request: h11.Request, body: bytes, peer: Peer) -> dict[str, Any]:
    path, _, query = request.target.partition(b"?")
    env: dict[str, Any] = {
        "REQUEST_METHOD": request.method.decode("ascii"),
        "SCRIPT_NAME": "",
        # PEP 3333: the path percent-decoded, as bytes carried in a latin-1 str.
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "SERVER_NAME": peer.server_name,
        "SERVER_PORT": str(peer.server_port),
        "SERVER_PROTOCOL": f"HTTP/{request.http_version.decode('ascii')}",
        "REMOTE_ADDR": peer.remote_addr,
        "REMOTE_PORT": str(peer.remote_port),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": peer.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in request.headers:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            env[name] = value
            continue
        key = f"HTTP_{name}"
        env[key] = f"{env[key]}, {value}" if key in env else value
    return env

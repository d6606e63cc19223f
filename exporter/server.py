"""Serving the app from one process with waitress, and stopping cleanly on SIGTERM or SIGINT."""

import logging
import signal
from types import FrameType

from flask import Flask
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

# waitress spills any response over outbuf_overflow (1 MiB by default) to a temporary file; a
# 10k-replica exposition is several MiB, so keep it in memory instead.
_OUTBUF_OVERFLOW_BYTES = 256 * 1024 * 1024
WAITRESS_DEFAULT_OUTBUF_OVERFLOW = 1024 * 1024
# /probe holds a thread for as long as its probe runs (up to the module timeout): leave room for
# Prometheus's multi-target scrapes without starving /metrics.
_THREADS = 32


class ListenAddressError(ValueError):
    pass


def parse_listen_address(address: str) -> tuple[str, int]:
    """``host:port``, ``:port`` (every interface) or ``[v6]:port``."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ListenAddressError(f"--web.listen-address: expected HOST:PORT or :PORT, got {address!r}")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port_text)


def make_server(
    app: Flask, address: str, outbuf_overflow: int = _OUTBUF_OVERFLOW_BYTES
) -> BaseWSGIServer | MultiSocketServer:
    host, port = parse_listen_address(address)
    server: BaseWSGIServer | MultiSocketServer = create_server(
        app,
        host=host,
        port=port,
        threads=_THREADS,
        outbuf_overflow=outbuf_overflow,
        ident="skyserve-exporter",
        clear_untrusted_proxy_headers=True,
    )
    return server


def bound_port(server: BaseWSGIServer | MultiSocketServer) -> int:
    return int(getattr(server, "effective_port", 0))


def serve_until_signalled(server: BaseWSGIServer | MultiSocketServer, logger: logging.Logger) -> None:
    """Run until SIGTERM/SIGINT; waitress's loop ends on SystemExit raised in the main thread."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("stopping", extra={"signal": signal.Signals(signum).name})
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.run()

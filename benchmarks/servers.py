"""Comparison servers for benchmarks/scrape.py, run as child processes under the exporter's server
(or, with ``--server waitress``, under waitress, the server the exporter used before).

``static``: the exporter's own bytes served as a constant (the floor for serving that many bytes).
``naive``: the usual design, building families and calling ``generate_latest`` on every scrape
(upstream fetched once at start, so this is kinder to the naive design than reality).
"""

import argparse
import sys
import time
from pathlib import Path

import requests
from flask import Flask, Response, request

from collectors.skyserve.collector import SkyServeCollector
from collectors.skyserve.config import SkyServeConfig
from exporter.collector import CollectorContext
from exporter.gzip_members import compress
from exporter.logs import setup_logging
from exporter.negotiation import accepts_gzip
from exporter.series import Format, encode_families
from exporter.server import HTTPServer


def static_app(body: bytes) -> Flask:
    app = Flask("static")
    zipped = compress(body)

    @app.get("/metrics")
    def metrics() -> Response:
        gz = accepts_gzip(request.headers.get("Accept-Encoding"))
        response = Response([zipped if gz else body], content_type="text/plain; version=0.0.4")
        response.headers["Content-Length"] = str(len(zipped if gz else body))
        if gz:
            response.headers["Content-Encoding"] = "gzip"
        return response

    return app


def naive_app(endpoint: str) -> Flask:
    logger = setup_logging("warning", "logfmt")
    context = CollectorContext(requests.Session, time.time, logger, {})
    collector = SkyServeCollector.from_config(SkyServeConfig(endpoint=endpoint), context)
    raw = collector.fetch()
    app = Flask("naive")

    @app.get("/metrics")
    def metrics() -> Response:
        body = encode_families(Format.TEXT, collector.build(raw, time.time()).families)
        gz = accepts_gzip(request.headers.get("Accept-Encoding"))
        payload = compress(body) if gz else body
        response = Response([payload], content_type="text/plain; version=0.0.4")
        if gz:
            response.headers["Content-Encoding"] = "gzip"
        return response

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["static", "naive"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", type=Path, help="static: the bytes to serve")
    parser.add_argument("--endpoint", help="naive: the simulated SkyPilot API server")
    parser.add_argument("--server", choices=["exporter", "waitress"], default="exporter")
    args = parser.parse_args()
    app = static_app(args.body.read_bytes()) if args.kind == "static" else naive_app(args.endpoint)
    logger = setup_logging("warning", "logfmt")
    if args.server == "waitress":
        serve_with_waitress(app, args.port)
    else:
        server = HTTPServer(app, f"127.0.0.1:{args.port}", logger)
        print("ready", flush=True)
        server.serve_until_signalled()
    sys.exit(0)


def serve_with_waitress(app: Flask, port: int) -> None:
    """The exporter's server before it owned its connections: 32 threads, responses kept in memory."""
    from waitress.server import create_server  # noqa: PLC0415 - only this comparison needs it

    server = create_server(app, host="127.0.0.1", port=port, threads=32, outbuf_overflow=256 << 20)
    print("ready", flush=True)
    server.run()  # until SIGTERM ends the process


if __name__ == "__main__":
    main()

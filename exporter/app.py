"""The HTTP surface: /metrics, health and readiness, the landing page and the JSON status."""

from typing import Protocol

from flask import Flask, Response, jsonify, request

from exporter.collector import Clock
from exporter.exposition import ScrapeCache
from exporter.landing import landing_page
from exporter.render import EncodingDemand, accepts_gzip, negotiate
from exporter.snapshot import SnapshotStore
from exporter.status import status_document


class ProbeHandler(Protocol):
    """Answers ``/probe`` (the probes collector's, when it runs): (HTTP status, body, content type)."""

    def handle(self, target: str, module: str, scrape_timeout: str | None) -> tuple[int, bytes, str]: ...


def create_app(
    store: SnapshotStore, demand: EncodingDemand, clock: Clock, prober: ProbeHandler | None = None
) -> Flask:
    # No static folder: the exporter serves its own routes and nothing from the working directory.
    app = Flask("skyserve_exporter", static_folder=None)
    scrapes = ScrapeCache(store)

    @app.get("/metrics")
    def metrics() -> Response:
        fmt = negotiate(request.headers.get("Accept"))
        gzipped = accepts_gzip(request.headers.get("Accept-Encoding"))
        demand.note(fmt, gzipped)
        chunks = scrapes.body(clock(), fmt, gzipped)
        response = Response(chunks, content_type=fmt.content_type)
        response.headers["Content-Length"] = str(sum(len(chunk) for chunk in chunks))
        response.headers["Vary"] = "Accept, Accept-Encoding"
        if gzipped:
            response.headers["Content-Encoding"] = "gzip"
        return response

    @app.get("/-/healthy")
    def healthy() -> Response:
        return Response("OK\n", content_type="text/plain")

    @app.get("/-/ready")
    def ready() -> Response:
        if store.ready():
            return Response("OK\n", content_type="text/plain")
        return Response("waiting for a first run of every collector\n", status=503, content_type="text/plain")

    @app.get("/api/v1/status")
    def status() -> Response:
        return jsonify(status_document(store.view(clock()), store.ready()))

    @app.get("/")
    def landing() -> str:
        return landing_page(status_document(store.view(clock()), store.ready()))

    if prober is not None:

        @app.get("/probe")
        def probe() -> Response:
            status, body, content_type = prober.handle(
                request.args.get("target", ""),
                request.args.get("module", ""),
                request.headers.get("X-Prometheus-Scrape-Timeout-Seconds"),
            )
            return Response(body, status=status, content_type=content_type)

    return app

"""The HTTP surface: /metrics, health and readiness, the landing page and the JSON status."""

from collections.abc import Callable, Mapping
from functools import cache

from flask import Flask, Response, abort, jsonify, request

from exporter.collector import Clock, Route
from exporter.exposition import ScrapeCache
from exporter.gzip_members import GzipMembers
from exporter.landing import DEFAULT_REFRESH_SECONDS, landing_page, metrics_reference
from exporter.metrics import MetricTable
from exporter.metrics_doc import all_tables
from exporter.negotiation import accepts_gzip, negotiate
from exporter.sharding import CurrentShard, Shard
from exporter.snapshot import ReloadStatus, SnapshotStore
from exporter.status import ConsoleSettings, StatusDocuments


def create_app(
    store: SnapshotStore,
    clock: Clock,
    *,
    routes: Callable[[], Mapping[str, Route]] = dict,
    reload: Callable[[], str | None] | None = None,
    web_config: Callable[[], ReloadStatus] | None = None,
    console: ConsoleSettings | None = None,
    metric_tables: Callable[[], Mapping[str, MetricTable]] = all_tables,
    shard: Callable[[], Shard] | None = None,
) -> Flask:
    """``routes`` gives the routes the running collectors offer (a reload may add or drop some);
    ``reload`` re-reads the config for ``POST /-/reload`` (None: the lifecycle API is off);
    ``console`` says whether this is ``--demo`` and where the console's links go; ``shard`` is the
    shard this exporter is now (default: the only one)."""
    current_shard = shard if shard is not None else CurrentShard()
    documents = StatusDocuments(console or ConsoleSettings())
    tables = cache(metric_tables)  # the installed collectors' tables do not change while running
    # No static folder: the exporter serves its own routes and nothing from the working directory.
    app = Flask("skyserve_exporter", static_folder=None)
    gzip_members = GzipMembers()
    store.on_put(gzip_members.stored)
    scrapes = ScrapeCache(store, gzip_members, web_config, current_shard)

    @app.get("/metrics")
    def metrics() -> Response:
        fmt = negotiate(request.headers.get("Accept"))
        gzipped = accepts_gzip(request.headers.get("Accept-Encoding"))
        if gzipped:
            gzip_members.asked()
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

    def document() -> dict[str, object]:
        now = clock()
        return documents(store.view(now), store.ready(), now, current_shard())

    @app.get("/api/v1/status")
    def status() -> Response:
        return jsonify(document())

    @app.get("/")
    def landing() -> Response:
        page = _int_arg("page", 1)
        refresh = _int_arg("refresh", DEFAULT_REFRESH_SECONDS)
        return Response(landing_page(document(), page, refresh), content_type="text/html; charset=utf-8")

    @app.get("/docs/metrics")
    def metrics_docs() -> Response:
        return Response(metrics_reference(tables()), content_type="text/html; charset=utf-8")

    @app.get("/<path:path>")
    def collector_route(path: str) -> Response:
        # Looked up at each request: the collectors that offer routes change with a reload.
        route = routes().get(f"/{path}")
        if route is None:
            abort(404)
        headers = {name.lower(): value for name, value in request.headers.items()}
        status, body, content_type = route(request.args.to_dict(), headers)
        return Response(body, status=status, content_type=content_type)

    @app.route("/-/reload", methods=["POST", "PUT"])
    def reload_config() -> Response:
        if reload is None:
            # As Prometheus answers: reloading over HTTP is opt-in.
            return Response("Lifecycle API is not enabled.\n", status=403, content_type="text/plain")
        problem = reload()
        if problem is not None:
            return Response(f"failed to reload config: {problem}\n", status=500, content_type="text/plain")
        return Response("config reloaded\n", content_type="text/plain")

    return app


def _int_arg(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except ValueError:
        return default

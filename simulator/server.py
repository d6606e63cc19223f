"""The Simulator: the fleet, served on loopback as a SkyPilot API server plus a data plane."""

import threading
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from simulator.api import ApiApp, ApiConfig
from simulator.baremetal import BareMetalFleet
from simulator.controller import CONTROLLER_AGE_SECONDS, JOBS, Controller, ControllerState
from simulator.counter import RequestCounter
from simulator.dataplane import DataPlaneApp
from simulator.faults import Fault, FaultSwitch
from simulator.fleet import Fleet
from simulator.handler import QuietHandler
from simulator.keepalive import DEFAULT_KEEP_ALIVE_TIMEOUT, ConnectionCounts, KeepAliveServer
from simulator.kubernetes_cluster import KubeFleet
from simulator.kubernetes_server import KubernetesEndpoint
from simulator.pools import DEMO_POOLS, Pools
from simulator.requests_store import SimRequest

_POLL_SECONDS = 0.1
# The jobs controller was launched after the serve controller (latest launched comes first in status).
JOBS_CONTROLLER_AGE = 2 * 86400
_JOIN_SECONDS = 1.0


class _StreamingHandler(QuietHandler):
    # HTTP/1.1 so that answers of unknown length go out chunked as they are made; werkzeug still
    # closes the connection after each one (only the API server keeps connections alive).
    protocol_version = "HTTP/1.1"


def _serve(host: str, port: int, app: Any) -> BaseWSGIServer:
    server = make_server(host, port, app, threaded=True, request_handler=_StreamingHandler)
    # Never wait for in-flight handler threads on close: a hung one must not block stop().
    server.block_on_close = False  # type: ignore[attr-defined]
    return server


class Simulator:
    """Run with ``with Simulator(...) as sim:``; point clients at ``sim.url``."""

    # The positional signature is the published contract, hence the many positionals.
    def __init__(  # noqa: PLR0917
        self,
        services: int = 3,
        replicas_per_service: int = 4,
        seed: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        tick_seconds: float | None = None,
        token: str | None = None,
        request_delay: float = 0.0,
        baremetal_nodes: int = 0,
        kubernetes_pods: int = 0,
        kubernetes_nodes: int = 0,
        kubernetes_clusters: int = 1,
        *,
        basic_auth: tuple[str, str] | None = None,
        keep_alive_timeout: float = DEFAULT_KEEP_ALIVE_TIMEOUT,
        controller: ControllerState | None = None,
        pools: int = 0,
        pool_route: bool = True,
    ) -> None:
        """``token``: service accounts on, this one accepted and required on all but /api/health;
        ``basic_auth``: the API server's basic-auth (user, password); ``keep_alive_timeout``: seconds
        an idle API connection stays open (uvicorn's 5 by default); ``controller``: the serve
        controller's state (default: UP with services, absent without, as after ``sky serve up``
        and before any); ``pools``: how many of the demo pools the jobs controller keeps (it is UP
        with pools, absent without); ``pool_route``: False for an API server from before pools,
        which answers ``/jobs/pool_status`` 404.
        """
        if tick_seconds is not None and tick_seconds <= 0:
            raise ValueError("tick_seconds must be > 0")
        if keep_alive_timeout <= 0:
            raise ValueError("keep_alive_timeout must be > 0")
        self.fleet = Fleet(services, replicas_per_service, seed)
        if controller is None:
            controller = ControllerState.UP if services else ControllerState.ABSENT
        self._controller = Controller(controller, int(self.fleet.now) - CONTROLLER_AGE_SECONDS)
        self.pools = Pools(tuple(DEMO_POOLS[i % len(DEMO_POOLS)] for i in range(pools)), self.fleet.now)
        self._jobs_controller = Controller(
            ControllerState.UP if pools else ControllerState.ABSENT,
            int(self.fleet.now) - JOBS_CONTROLLER_AGE,
            JOBS,
        )
        self._host, self._port = host, port
        self._tick = tick_seconds
        self._faults = FaultSwitch()
        self._api_counter = RequestCounter()
        self._data_counter = RequestCounter()
        self._api_app = ApiApp(
            self.fleet,
            self._faults,
            self._api_counter,
            ApiConfig(token, request_delay, basic_auth, pool_route),
            controller=self._controller,
            jobs_controller=self._jobs_controller,
            pools=self.pools,
        )
        self._keep_alive_timeout = keep_alive_timeout
        self._api_server: KeepAliveServer | None = None
        self._servers: list[BaseWSGIServer] = []
        self._threads: list[threading.Thread] = []
        self.url = ""
        self.data_plane_url = ""
        # Loopback GPU boxes for the bare-metal collector, with an inventory written at start.
        self.baremetal = BareMetalFleet(baremetal_nodes, host) if baremetal_nodes else None
        self.baremetal_inventory_path: Path | None = None
        # A Kubernetes API subset (and a kubeconfig for it), only when asked for.
        self.kubernetes: KubernetesEndpoint | None = None
        if kubernetes_pods or kubernetes_nodes:
            kube = KubeFleet(kubernetes_pods, kubernetes_nodes, kubernetes_clusters, seed, self.fleet.now)
            self.kubernetes = KubernetesEndpoint(kube, token)

    def start(self) -> "Simulator":
        if self._servers:
            raise RuntimeError("simulator already started")
        api = KeepAliveServer(self._host, self._port, self._api_app, self._keep_alive_timeout)
        self._api_server = api
        data = _serve(self._host, 0, DataPlaneApp(self.fleet, self._data_counter))
        self._servers = [api, data]
        self.url = f"http://{self._host}:{api.server_port}"
        self.data_plane_url = f"http://{self._host}:{data.server_port}"
        self.fleet.set_endpoint_base(self.data_plane_url)
        if self.kubernetes is not None:
            kube = _serve(self._host, 0, self.kubernetes.wsgi())
            self._servers.append(kube)
            self.kubernetes.started(f"http://{self._host}:{kube.server_port}")
        for server in self._servers:
            self._spawn(server.serve_forever, _POLL_SECONDS)
        if self._tick is not None:
            self._spawn(self._run_ticker, self._tick)
        if self.baremetal is not None:
            self.baremetal_inventory_path = self.baremetal.start().inventory_path
        return self

    def _spawn(self, target: Any, arg: float) -> None:
        thread = threading.Thread(target=target, args=(arg,), daemon=True, name="skyserve-simulator")
        thread.start()
        self._threads.append(thread)

    def _run_ticker(self, seconds: float) -> None:
        while not self._faults.closed.wait(seconds):
            self.fleet.step(seconds)
            if self.kubernetes is not None:
                self.kubernetes.fleet.step(seconds)

    def stop(self) -> None:
        """Stop serving; returns within about a second even with requests hanging."""
        self._faults.close()
        if self._api_server is not None:
            self._api_server.close_idle()
        if self.kubernetes is not None:
            self.kubernetes.stop()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(_JOIN_SECONDS)
        if self.baremetal is not None:
            self.baremetal.stop()

    def set_fault(self, fault: Fault, delay: float = 0.0) -> None:
        """Make the API server misbehave (``Fault.NONE`` to heal); frees requests held by the old one."""
        self._faults.set(fault, delay)

    @property
    def fault(self) -> Fault:
        return self._faults.current()

    def set_controller(self, state: ControllerState) -> None:
        """Make the serve controller absent, or put it in a cluster status (services stay as they are)."""
        self._controller.set(state)

    @property
    def controller(self) -> ControllerState:
        return self._controller.state

    def set_jobs_controller(self, state: ControllerState) -> None:
        """Make the jobs controller absent, or put it in a cluster status (pools stay as they are)."""
        self._jobs_controller.set(state)

    def request_count(self, path: str) -> int:
        """API-server requests received for ``path`` (e.g. ``/api/get``), whatever the answer."""
        return self._api_counter.count(path)

    @property
    def requests_served(self) -> Counter[str]:
        return self._api_counter.snapshot()

    @property
    def submitted_requests(self) -> tuple[SimRequest, ...]:
        """The requests submitted to the API server and still in its table, oldest first: when each
        was submitted (``created_at``) and from when it counts as done (``ready_at``)."""
        return self._api_app.requests

    @property
    def api_connections(self) -> ConnectionCounts:
        """Connections the API server accepted, and those it dropped for idling past the timeout."""
        return self._api_server.counts if self._api_server is not None else ConnectionCounts()

    @property
    def data_plane_requests(self) -> Counter[str]:
        return self._data_counter.snapshot()

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

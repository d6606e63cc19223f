"""Simulated bare-metal nodes: loopback HTTP servers standing in for rented GPU boxes.

``BareMetalFleet(n)`` starts one server per hosted replica (a node's replicas listen on distinct
ports, as on a real box) and writes an inventory for them in the exporter's format. Every path of a
healthy node answers 200; a failing node answers 500 everywhere. With two or more nodes the last one
fails, so a demo always shows both. ``set_healthy`` flips a node at run time.
"""

import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import yaml
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Response

from simulator.handler import QuietHandler

_POLL_SECONDS = 0.1
_JOIN_SECONDS = 1.0
HEALTH_PATH = "/health"


@dataclass(frozen=True)
class NodePlan:
    """One kind of box in the simulated fleet; prices are illustrative list prices."""

    name: str
    provider: str
    region: str
    datacenter: str
    instance_type: str
    accelerator: str
    accelerator_count: int
    services: tuple[str, ...]  # one replica of each, each on its own port
    monthly_cost: float | None = None
    hourly_cost: float | None = None


PLANS = (
    NodePlan("fsn-gpu", "hetzner", "fsn1", "fsn1-dc14", "GEX130", "RTX6000Ada", 1, ("llama-70b",), 838.0),
    NodePlan("gra-gpu", "ovh", "gra", "gra11", "L4-90", "L4", 2, ("llama-70b", "embed"), hourly_cost=2.1),
    # Owned hardware has no list price; the demo charges an amortised internal rate, so every
    # simulated replica is priced (the demo's cost panels are complete).
    NodePlan("rack-a", "onprem", "office", "rack-a", "DGX-A100", "A100", 8, ("llama-70b",), 4200.0),
    NodePlan("nbg-gpu", "hetzner", "nbg1", "nbg1-dc3", "GEX44", "RTX4000", 1, ("embed",), 184.0),
)


class _NodeApp:
    """Answers for one node; its health is switched by the fleet."""

    def __init__(self, healthy: bool) -> None:
        self.healthy = healthy  # a bool swap is atomic; handlers only read it

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.healthy:
            response = Response("ok\n", status=200, mimetype="text/plain")
        else:
            response = Response("failing\n", status=500, mimetype="text/plain")
        return response(environ, start_response)


@dataclass(frozen=True)
class _Running:
    plan: NodePlan
    name: str
    app: _NodeApp
    servers: tuple[BaseWSGIServer, ...]


class BareMetalFleet:
    """Run with ``with BareMetalFleet(4) as nodes:``; point the collector at ``nodes.inventory_path``."""

    def __init__(self, nodes: int, host: str = "127.0.0.1") -> None:
        if nodes < 0:
            raise ValueError("nodes must be >= 0")
        self._count = nodes
        self._host = host
        self._nodes: dict[str, _Running] = {}
        self._threads: list[threading.Thread] = []
        self._directory: Path | None = None
        self.inventory_path = Path()

    def start(self) -> Self:
        if self._directory is not None:
            raise RuntimeError("bare-metal fleet already started")
        self._directory = Path(tempfile.mkdtemp(prefix="skyserve-baremetal-"))
        for index in range(self._count):
            failing = self._count > 1 and index == self._count - 1
            self._start_node(index, healthy=not failing)
        self.inventory_path = self._directory / "inventory.yml"
        self.inventory_path.write_text(yaml.safe_dump(self.inventory(), sort_keys=False), encoding="utf-8")
        return self

    def _start_node(self, index: int, healthy: bool) -> None:
        plan = PLANS[index % len(PLANS)]
        app = _NodeApp(healthy)
        servers = tuple(self._serve(app) for _ in plan.services)
        name = f"{plan.name}-{index + 1}"
        self._nodes[name] = _Running(plan, name, app, servers)

    def _serve(self, app: _NodeApp) -> BaseWSGIServer:
        server = make_server(self._host, 0, app, threaded=True, request_handler=QuietHandler)
        server.block_on_close = False  # type: ignore[attr-defined]
        thread = threading.Thread(
            target=server.serve_forever, args=(_POLL_SECONDS,), daemon=True, name="baremetal-node"
        )
        thread.start()
        self._threads.append(thread)
        return server

    def stop(self) -> None:
        for node in self._nodes.values():
            for server in node.servers:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(_JOIN_SECONDS)
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._nodes)

    def set_healthy(self, name: str, healthy: bool) -> None:
        self._nodes[name].app.healthy = healthy

    def inventory(self) -> dict[str, Any]:
        """The inventory document for the running nodes (the exporter's format)."""
        return {"nodes": [self._entry(node) for node in self._nodes.values()]}

    def _entry(self, node: _Running) -> dict[str, Any]:
        plan = node.plan
        ports = [server.server_port for server in node.servers]
        entry: dict[str, Any] = {
            "name": node.name,
            "address": self._host,
            "provider": plan.provider,
            "region": plan.region,
            "datacenter": plan.datacenter,
            "instance_type": plan.instance_type,
            "accelerators": {plan.accelerator: plan.accelerator_count},
            "health_url": f"http://{self._host}:{ports[0]}{HEALTH_PATH}",
            "replicas": [
                {"service_name": service, "port": port, "health_path": HEALTH_PATH}
                for service, port in zip(plan.services, ports, strict=True)
            ],
        }
        if plan.monthly_cost is not None:
            entry["monthly_cost"] = plan.monthly_cost
        if plan.hourly_cost is not None:
            entry["hourly_cost"] = plan.hourly_cost
        return entry

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

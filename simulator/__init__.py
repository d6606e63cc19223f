"""A seeded SkyServe fleet served on loopback in SkyPilot 0.14's exact wire format.

``Fleet`` is the pure model; ``Simulator`` serves it as a SkyPilot API server (``/api/health``,
``POST /serve/status``, ``POST /jobs/pool_status``, ``POST /status`` for the controller clusters,
``/api/get``) plus a data plane answering for every service and replica endpoint; ``Fault`` makes
the API server misbehave on demand and ``ControllerState`` is what a controller is (absent, UP,
STOPPED...).
"""

from simulator.controller import ControllerState
from simulator.faults import Fault
from simulator.fleet import Fleet
from simulator.server import Simulator

__all__ = ["ControllerState", "Fault", "Fleet", "Simulator"]

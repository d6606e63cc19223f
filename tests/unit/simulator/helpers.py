"""Shared helpers for the simulator tests: bounded HTTP calls against a running Simulator."""

import json
from typing import Any

import requests

from simulator import Simulator

TIMEOUT = 5.0
NEW_CLIENT = {"X-SkyPilot-API-Version": "62", "X-SkyPilot-Version": "0.14.1"}


def submit(sim: Simulator, body: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
    payload = {"service_names": None} if body is None else body
    return requests.post(
        f"{sim.url}/serve/status", json=payload, headers=headers or NEW_CLIENT, timeout=TIMEOUT
    )


def get(sim: Simulator, request_id: str, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.get(
        f"{sim.url}/api/get",
        params={"request_id": request_id},
        headers=headers or NEW_CLIENT,
        timeout=TIMEOUT,
    )


def status_round_trip(sim: Simulator, headers: dict[str, str] | None = None) -> requests.Response:
    """POST /serve/status then GET /api/get for the id it returned."""
    posted = submit(sim, headers=headers)
    assert posted.status_code == 200
    return get(sim, posted.headers["X-Skypilot-Request-ID"], headers=headers)


def services_of(response: requests.Response) -> list[dict[str, Any]]:
    payload = response.json()
    assert isinstance(payload["return_value"], str)
    services: list[dict[str, Any]] = json.loads(payload["return_value"])
    return services


def error_of(response: requests.Response) -> dict[str, Any]:
    """The decoded ``error`` of a failed request (HTTP 500 ``{"detail": payload}``)."""
    error: dict[str, Any] = json.loads(response.json()["detail"]["error"])
    return error

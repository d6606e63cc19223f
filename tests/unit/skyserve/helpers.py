"""Shared helpers for the SkyServe collector tests: recorded fixtures and rendering."""

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import requests
from prometheus_client.core import Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.collector import CollectorContext

FIXTURES = Path(__file__).parent / "fixtures"
ENDPOINT = "http://skypilot-api:46580"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def recorded_services() -> list[Any]:
    """The service list inside the recorded /api/get payload."""
    services = json.loads(load("api_get_serve_status.json")["return_value"])
    assert isinstance(services, list)
    return services


def context(environ: Mapping[str, str] | None = None) -> CollectorContext:
    return CollectorContext(
        session_factory=requests.Session,
        clock=lambda: 1_795_830_000.0,
        logger=logging.getLogger("test.skyserve"),
        environ=dict(environ or {}),
    )


class _Families:
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> list[Metric]:
        return self._families


def render(families: Iterable[Metric]) -> str:
    """The text exposition prometheus_client itself produces for these families."""
    return generate_latest(_Families(families)).decode()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample in an exposition, keyed by (sample name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(parsed: Mapping[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return parsed[(name, frozenset(labels.items()))]

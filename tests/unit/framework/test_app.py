import gzip
import logging

import requests

from exporter.app import create_app
from exporter.runner import run_once
from exporter.snapshot import SnapshotStore
from tests.unit.framework.fakes import FakeClock, FakeCollector

LOG = logging.getLogger("test")


def make_client(clock: FakeClock, run: bool = True):  # type: ignore[no-untyped-def]
    store = SnapshotStore({"fake": (10, 30)})
    if run:
        store.put(run_once(FakeCollector([{"llama<b>": 2}]), clock, LOG))
    return create_app(store, clock).test_client()


def test_metrics_negotiates_format_and_gzip() -> None:
    client = make_client(FakeClock())
    text = client.get("/metrics")
    assert text.status_code == 200
    assert text.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    om = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.headers["Content-Type"].startswith("application/openmetrics-text")
    assert om.data.endswith(b"# EOF\n")
    zipped = client.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert int(zipped.headers["Content-Length"]) == len(zipped.data)
    assert gzip.decompress(zipped.data) == text.data


def test_failed_collector_is_still_http_200(clock: FakeClock) -> None:
    store = SnapshotStore({"fake": (10, 30)})
    store.put(run_once(FakeCollector([requests.ConnectionError("down")]), clock, LOG))
    response = create_app(store, clock).test_client().get("/metrics")
    assert response.status_code == 200
    assert b'skyserve_exporter_collector_up{collector="fake"} 0.0' in response.data


def test_readiness(clock: FakeClock) -> None:
    assert make_client(clock, run=False).get("/-/ready").status_code == 503
    assert make_client(clock).get("/-/ready").status_code == 200
    assert make_client(clock, run=False).get("/-/healthy").status_code == 200


def test_status_json_and_landing_page() -> None:
    client = make_client(FakeClock())
    doc = client.get("/api/v1/status").get_json()
    assert doc["ready"] is True
    (collector,) = doc["collectors"]
    assert collector["name"] == "fake" and collector["up"] is True and collector["samples"] == 2
    assert doc["services"] == [
        {
            "name": "llama<b>",
            "source": "fake",
            "status": "READY",
            "ready_replicas": 2,
            "total_replicas": 2,
            "clouds": ["aws"],
            "collector": "fake",
            # What the console adds; this fake source knows no cost, target or statuses.
            "kind": "service",
            "target_replicas": None,
            "replicas_by_status": {},
            "hourly_cost_dollars": 0.0,
            "priced_replicas": 0,
            "cost_by_placement": [],
            "unpriced_replicas": {},
        }
    ]
    page = client.get("/").data.decode()
    assert "llama&lt;b&gt;" in page and "llama<b>" not in page  # escaped
    assert "2 / &ndash; / 2" in page  # ready / target (unknown) / total

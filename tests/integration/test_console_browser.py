"""The console at ``/`` as a browser renders it: headless Chromium against the real exporter.

Figures on the page are checked against ``/metrics`` scraped in the same quiet moment (no collector
stored a run in between), so the page cannot drift from what Prometheus sees.
"""

from collections import defaultdict
from pathlib import Path

import pytest
import requests

from tests.integration.console import (
    DEAD_TARGET,
    DESKTOP,
    GRAFANA_URL,
    NARROW,
    Element,
    consistent,
    demo_exporter,
    dump_dom,
    failing_exporter,
    png_size,
    screenshot,
)
from tests.integration.harness import Exporter, Samples, parse_samples, select

pytestmark = pytest.mark.integration


def data_value(element: Element) -> float:
    return float(element.find("data").attrs["value"])


def scrape_and_render(exporter: Exporter) -> tuple[Samples, Element]:
    samples = parse_samples(exporter.scrape().text)
    return samples, dump_dom(f"{exporter.url}/")


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    for labels, value in select(samples, name).items():
        sums[dict(labels)[label]] += value
    return dict(sums)


def test_the_demo_console_shows_what_the_metrics_say(tmp_path: Path) -> None:
    with demo_exporter(tmp_path) as exporter:
        (samples, dom), document = consistent(exporter, lambda: scrape_and_render(exporter))
        hourly = select(samples, "skyserve_replica_hourly_cost_dollars")
        assert hourly, "the demo fleet should be priced"
        # The controllers are overhead the fleet pays for too: on-demand, one node each.
        overhead = select(samples, "skyserve_controller_hourly_cost_dollars")
        assert overhead, "the demo runs priced controllers"
        total = sum(hourly.values()) + sum(overhead.values())

        # Fleet burn, the month at this rate, and the splits: the sums of the cost samples.
        assert float(dom.by_id("fleet-hourly").attrs["value"]) == pytest.approx(total)
        assert float(dom.by_id("fleet-monthly").attrs["value"]) == pytest.approx(total * 730)
        clouds = {row[0].text(): data_value(row[3]) for row in dom.by_id("cost-by-cloud").table_rows()}
        expected = by_label(samples, "skyserve_replica_hourly_cost_dollars", "cloud")
        for cloud, dollars in by_label(samples, "skyserve_controller_hourly_cost_dollars", "cloud").items():
            expected[cloud] = expected.get(cloud, 0.0) + dollars
        assert clouds == pytest.approx(expected)
        spot = by_label(samples, "skyserve_replica_hourly_cost_dollars", "spot")
        assert data_value(dom.by_id("cost-spot")) == pytest.approx(spot.get("true", 0.0))
        on_demand = spot.get("false", 0.0) + sum(overhead.values())
        assert data_value(dom.by_id("cost-on-demand")) == pytest.approx(on_demand)
        kinds = {entry["kind"]: entry["hourly_dollars"] for entry in document["cost"]["by_kind"]}
        assert kinds["controller"] == pytest.approx(sum(overhead.values()))
        unpriced = sum(select(samples, "skyserve_unpriced_replicas").values())
        assert float(dom.by_id("unpriced-total").attrs["value"]) == unpriced

        # Every failing probe is listed, with its error, status code and latency.
        failing = {
            dict(labels)["target"]
            for labels, value in select(samples, "skyserve_probe_success").items()
            if value == 0
        }
        assert failing, "the demo fleet has failing endpoints"
        rows = dom.by_id("failing-probes").table_rows()
        assert {row[0].text() for row in rows} == failing
        for row in rows:
            assert row[3].text() and row[5].text().endswith("ms")

        # One row group per service name (pools and controllers too), a row per source.
        names = set(by_label(samples, "skyserve_replicas_by_cloud", "service_name"))
        names |= set(by_label(samples, "skyserve_controller_status", "controller"))
        groups = dom.by_id("services").find_all("tbody", class_="group")
        assert {group.attrs["data-service"] for group in groups} == names
        sources = {
            group.attrs["data-service"]: sum(1 for tr in group.find_all("tr") if "data-source" in tr.attrs)
            for group in groups
        }
        assert sources == {g["name"]: len(g["sources"]) for g in document["service_groups"]}

        # Demo banner, links, every collector healthy.
        assert "--demo" in dom.by_id("demo-banner").text()
        links = {a.attrs["href"] for a in dom.find_all("a")}
        assert {"metrics", "api/v1/status", "docs/metrics", GRAFANA_URL} <= links
        states = {
            row.attrs["data-collector"]: row.attrs["data-state"]
            for row in dom.find_all("tr")
            if "data-collector" in row.attrs
        }
        assert set(states.values()) == {"ok"}
        assert dom.find("meta", http_equiv="refresh").attrs["content"] == "15"
        assert (
            "skyserve_replica_hourly_cost_dollars"
            in requests.get(f"{exporter.url}/docs/metrics", timeout=5).text
        )

        for name, size in (("desktop", DESKTOP), ("narrow", NARROW)):
            shot = screenshot(f"{exporter.url}/?refresh=0", tmp_path / f"console-{name}.png", size)
            assert png_size(shot) == size


def test_a_failing_upstream_is_marked_stale_and_a_failing_probe_listed(tmp_path: Path) -> None:
    with failing_exporter(tmp_path) as exporter:
        dom = dump_dom(f"{exporter.url}/")
        row = dom.find("tr", data_collector="skyserve")
        assert row.attrs["data-state"] == "stale"
        assert "stale" in row.text() and "no data served" in row.text()
        assert row.find_all("td")[-1].text(), "the error is shown"
        warning = dom.by_id("collector-warning").text()
        assert "1 collector stale: skyserve" in warning
        assert "skyserve" in dom.by_id("cost").text()  # the cost says it is incomplete

        (dead,) = [r for r in dom.by_id("failing-probes").table_rows() if r[0].text() == DEAD_TARGET]
        assert "refused" in dead[3].text()
        assert dead[4].text() == "none"  # no HTTP status arrived
        assert dead[5].text().endswith("ms")

        shot = screenshot(f"{exporter.url}/?refresh=0", tmp_path / "console-failing.png", DESKTOP)
        assert png_size(shot) == DESKTOP

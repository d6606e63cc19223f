"""The console at ``/`` and the document behind it and ``/api/v1/status``: one set of figures,
computed from the collectors' summaries; ages at the request; a page of the service table at a time."""

import re
from html.parser import HTMLParser

import pytest

from exporter.app import create_app
from exporter.charts import Bar, Segment, bar_chart, status_bar
from exporter.cli import parse_args
from exporter.collector import (
    Build,
    CostSlice,
    EndpointCheck,
    ServiceSummary,
    summarize_checks,
)
from exporter.errors import ErrorKind
from exporter.landing import PAGE_SIZE, age, dollars, landing_page, replica_words
from exporter.metrics import MetricSpec, MetricTable
from exporter.snapshot import Snapshot, SnapshotStore
from exporter.status import HOURS_PER_MONTH, ConsoleSettings, StatusDocuments, status_document
from tests.unit.framework.fakes import FakeClock

NOW = 1_800_000_000.0


def summary(
    name: str,
    source: str,
    costs: tuple[CostSlice, ...] = (),
    *,
    status: str = "READY",
    ready: int = 2,
    total: int = 2,
    target: int | None = None,
    unpriced: dict[str, int] | None = None,
    kind: str = "service",
) -> ServiceSummary:
    return ServiceSummary(
        name,
        source,
        status,
        ready,
        total,
        tuple(sorted({c.cloud for c in costs})),
        target_replicas=target,
        replicas_by_status={"READY": ready, "STARTING": total - ready} if total > ready else {"READY": ready},
        costs=costs,
        unpriced=unpriced or {},
        kind=kind,
    )


def check(target: str, ok: bool, service: str = "", kind: str = "service", code: int = 200) -> EndpointCheck:
    return EndpointCheck(
        target, kind, service, "", ok, "" if ok else "status 503 is not accepted", code, 0.012
    )


def fleet_store() -> SnapshotStore:
    """skyserve and kubernetes both run "llama"; baremetal is failing but served; probes ran;
    "gone" failed long ago and is stale; "new" has not run."""
    store = SnapshotStore({})
    for name, interval in (("skyserve", 30.0), ("kubernetes", 30.0), ("baremetal", 30.0), ("probes", 15.0)):
        store.schedule(name, interval, 3 * interval)
    store.schedule("gone", 10.0, 30.0)
    store.schedule("new", 10.0, 30.0)
    skyserve = (
        summary(
            "llama",
            "skyserve",
            (CostSlice("aws", True, 1.5, 2), CostSlice("aws", False, 4.0, 1)),
            ready=2,
            total=3,
            target=3,
        ),
        summary("mistral", "skyserve", (CostSlice("gcp", False, 2.0, 1),), unpriced={"no_catalog": 2}),
        summary(
            "sky-serve-controller",
            "skyserve",
            (CostSlice("aws", False, 0.5, 1),),
            kind="controller",
            status="UP",
            ready=1,
            total=1,
        ),
    )
    kubernetes = (
        summary(
            "llama",
            "kubernetes",
            (CostSlice("kubernetes", False, 3.0, 4),),
            ready=4,
            total=4,
            unpriced={"no_requests": 1},
        ),
    )
    baremetal = (
        summary(
            "embed",
            "baremetal",
            (CostSlice("hetzner", False, 1.0, 1),),
            status="NO_REPLICA",
            ready=0,
            total=1,
        ),
    )
    checks = summarize_checks(
        [
            check("http://llama/health", True, "llama"),
            check("http://llama-2/health", False, "llama", "replica", 503),
            check("db", False, "", "static", 0),
        ]
    )
    store.put(Snapshot("skyserve", True, NOW - 12, 0.5, Build([], services=skyserve)))
    store.put(Snapshot("kubernetes", True, NOW - 5, 0.5, Build([], services=kubernetes)))
    store.put(Snapshot("baremetal", True, NOW - 40, 0.5, Build([], services=baremetal)))
    store.put(Snapshot("baremetal", False, NOW - 10, 0.5, error_kind=ErrorKind.UNAVAILABLE, error="refused"))
    store.put(Snapshot("probes", True, NOW - 3, 0.2, Build([], checks=checks)))
    store.put(Snapshot("gone", True, NOW - 100, 0.5, Build([], services=(summary("old", "gone"),))))
    store.put(Snapshot("gone", False, NOW - 8, 0.5, error_kind=ErrorKind.TIMEOUT, error="timed out"))
    return store


@pytest.fixture
def document() -> dict[str, object]:
    store = fleet_store()
    return status_document(store.view(NOW), store.ready(), NOW, ConsoleSettings(demo=True))


def test_fleet_cost_is_the_sum_of_every_served_summary(document: dict[str, object]) -> None:
    cost = document["cost"]
    assert isinstance(cost, dict)
    # llama 5.5 + 3.0, mistral 2.0, controller 0.5, embed 1.0 (baremetal is failing but still served);
    # "gone" is stale, so its service is not counted.
    assert cost["hourly_dollars"] == pytest.approx(12.0)
    assert cost["monthly_dollars"] == pytest.approx(12.0 * HOURS_PER_MONTH)
    assert cost["priced_replicas"] == 10
    assert cost["unpriced_replicas"] == 3
    assert cost["unpriced_by_reason"] == {"no_catalog": 2, "no_requests": 1}
    assert [(r["cloud"], r["hourly_dollars"], r["spot_hourly_dollars"]) for r in cost["by_cloud"]] == [
        ("aws", pytest.approx(6.0), pytest.approx(1.5)),
        ("kubernetes", pytest.approx(3.0), 0.0),
        ("gcp", pytest.approx(2.0), 0.0),
        ("hetzner", pytest.approx(1.0), 0.0),
    ]
    assert cost["by_capacity"] == {
        "on_demand": {"hourly_dollars": pytest.approx(10.5), "replicas": 8},
        "spot": {"hourly_dollars": pytest.approx(1.5), "replicas": 2},
    }
    assert [(r["name"], r["hourly_dollars"]) for r in cost["by_service"]["top"]] == [
        ("llama", pytest.approx(8.5)),
        ("mistral", pytest.approx(2.0)),
        ("embed", pytest.approx(1.0)),
    ]
    assert [(r["kind"], r["share"]) for r in cost["by_kind"]] == [
        ("service", pytest.approx(11.5 / 12)),
        ("controller", pytest.approx(0.5 / 12)),
    ]
    assert cost["missing_collectors"] == ["gone"]


def test_one_group_per_name_whatever_the_sources(document: dict[str, object]) -> None:
    groups = {g["name"]: g for g in document["service_groups"]}  # type: ignore[attr-defined]
    llama = groups["llama"]
    assert llama["sources"] == ["kubernetes", "skyserve"]
    assert (llama["ready_replicas"], llama["total_replicas"]) == (6, 7)
    assert llama["target_replicas"] is None  # kubernetes does not say, so no total target
    assert llama["hourly_cost_dollars"] == pytest.approx(8.5)
    assert llama["probes"] == {"ok": 1, "total": 2}
    assert llama["attention"] == ["skyserve: 2 of 3 target replicas ready", "1 of 2 probes failing"]
    assert groups["embed"]["attention"] == ["baremetal status NO_REPLICA"]
    assert groups["mistral"]["attention"] == []
    order = [g["name"] for g in document["service_groups"]]  # type: ignore[attr-defined]
    assert order == ["llama", "embed", "mistral", "sky-serve-controller"]  # attention first, then cost


def test_collector_states_and_ages_at_the_request(document: dict[str, object]) -> None:
    entries = {c["name"]: c for c in document["collectors"]}  # type: ignore[attr-defined]
    assert {name: c["state"] for name, c in entries.items()} == {
        "skyserve": "ok",
        "kubernetes": "ok",
        "baremetal": "failing",
        "probes": "ok",
        "gone": "stale",
        "new": "pending",
    }
    assert entries["skyserve"]["last_success_age_seconds"] == 12
    assert entries["baremetal"]["stale_in_seconds"] == pytest.approx(90 - 39.5)
    assert entries["baremetal"]["last_run"]["error"] == "refused"
    assert entries["gone"]["serving_data"] is False and entries["gone"]["last_success_age_seconds"] == 100


def test_probes_list_failing_endpoints(document: dict[str, object]) -> None:
    probes = document["probes"]
    assert isinstance(probes, dict)
    assert (probes["total"], probes["ok"], probes["failed"]) == (3, 1, 2)
    assert [(p["target"], p["status_code"], p["error"]) for p in probes["failing"]] == [
        ("db", 0, "status 503 is not accepted"),  # static targets before replicas
        ("http://llama-2/health", 503, "status 503 is not accepted"),
    ]


def test_failing_checks_are_capped_and_ordered() -> None:
    checks = [check(f"r{i}", False, "svc", "replica") for i in range(80)] + [check("lb", False, "svc")]
    found = summarize_checks(checks, limit=5)
    assert (found.total, found.failed, found.failing_not_listed) == (81, 81, 76)
    assert [c.target for c in found.failing] == ["lb", "r0", "r1", "r10", "r11"]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: dict[str, dict[str, str | None]] = {}
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        for key in ("href", "src", "action", "xlink:href"):
            if found.get(key) is not None:
                self.links.append(str(found[key]))
        if found.get("id"):
            self.ids[str(found["id"])] = found


def parsed(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def test_the_page_shows_the_documents_figures(document: dict[str, object]) -> None:
    html = landing_page(document)
    page = parsed(html)
    assert (
        page.ids["fleet-hourly"]["value"] == repr(12.0)
        or float(str(page.ids["fleet-hourly"]["value"])) == 12.0
    )
    assert float(str(page.ids["fleet-monthly"]["value"])) == pytest.approx(12.0 * 730)
    assert page.ids["unpriced-total"]["value"] == "3"
    assert "demo-banner" in page.ids
    assert "collector-warning" in page.ids and "gone" in html
    assert "no_catalog" in html and "no_requests" in html
    assert "http://llama-2/health" in html and "status 503 is not accepted" in html
    assert '<tbody class="group" data-service="llama"' in html
    assert "controllers" in html  # the controller's share


def test_the_page_is_self_contained(document: dict[str, object]) -> None:
    """Air-gapped: nothing the page loads comes from elsewhere, and it runs no script."""
    settings = ConsoleSettings(grafana_url="https://grafana.example/d/x", docs_url="docs/metrics")
    store = fleet_store()
    html = landing_page(status_document(store.view(NOW), store.ready(), NOW, settings))
    page = parsed(html)
    assert (
        "script" not in page.tags
        and "link" not in page.tags
        and "img" not in page.tags
        and "iframe" not in page.tags
    )
    external = [link for link in page.links if re.match(r"^[a-z]+:", link)]
    assert external == ["https://grafana.example/d/x"]
    assert "url(" not in html and "@import" not in html
    assert '<meta http-equiv="refresh" content="15">' in html
    assert "http-equiv" not in landing_page(document, refresh=0)


def test_accessible_markup(document: dict[str, object]) -> None:
    html = landing_page(document)
    assert html.count("<caption>") >= 4
    assert '<th scope="col"' in html and '<th scope="row"' in html and '<th scope="rowgroup"' in html
    for svg in re.findall(r"<svg[^>]*>", html):
        assert 'role="img"' in svg or 'aria-hidden="true"' in svg, svg
    assert "<title" in bar_chart("t", [Bar("a", (Segment("a", 1, "x"),), "$1")])
    # Status colours always come with words.
    assert (
        replica_words({"READY": 2, "FAILED": 1, "PREEMPTED": 1})
        == "2 ready, 1 failed, 1 shutting down or preempted"
    )
    assert 'aria-label="2 ready, 1 starting"' in status_bar(
        [Segment("ready", 2, "s"), Segment("starting", 1, "t")]
    )


def test_the_service_table_is_paginated() -> None:
    store = SnapshotStore({})
    store.schedule("skyserve", 30.0, 90.0)
    services = tuple(
        summary(f"svc-{i:04d}", "skyserve", (CostSlice("aws", False, 1.0, 1),))
        for i in range(PAGE_SIZE * 2 + 5)
    )
    store.put(Snapshot("skyserve", True, NOW - 1, 0.1, Build([], services=services)))
    document = status_document(store.view(NOW), store.ready(), NOW)
    first = landing_page(document)
    assert first.count('<tbody class="group"') == PAGE_SIZE
    assert "page 1 of 3" in first and 'href="?page=2"' in first
    last = landing_page(document, page=99)  # clamped
    assert last.count('<tbody class="group"') == 5 and "page 3 of 3" in last
    assert float(str(parsed(last).ids["fleet-hourly"]["value"])) == PAGE_SIZE * 2 + 5  # totals cover all


def test_figures_in_words() -> None:
    assert [dollars(x) for x in (0, 0.0116, 1.5, 1234.5)] == ["$0.00", "$0.012", "$1.50", "$1,234"]
    assert [age(x) for x in (None, 3, 300, 7300, 200000)] == [
        "never",
        "3 s ago",
        "5 min ago",
        "2 h ago",
        "2 d ago",
    ]


def test_the_app_serves_one_document_to_the_page_and_the_json() -> None:
    store = fleet_store()
    clock = FakeClock(NOW)
    tables = {
        "fake": MetricTable((MetricSpec("skyserve_fake", "gauge", "A fake family.", ("service_name",)),))
    }
    client = create_app(
        store, clock, console=ConsoleSettings(demo=True), metric_tables=lambda: tables
    ).test_client()
    doc = client.get("/api/v1/status").get_json()
    page = client.get("/?page=x&refresh=30")
    assert page.status_code == 200 and page.content_type == "text/html; charset=utf-8"
    ids = parsed(page.data.decode()).ids
    assert float(str(ids["fleet-hourly"]["value"])) == doc["cost"]["hourly_dollars"]
    assert doc["demo"] is True and doc["links"]["docs"] == "docs/metrics" and doc["links"]["grafana"] is None
    docs = client.get("/docs/metrics").data.decode()
    assert "skyserve_fake" in docs and "A fake family." in docs


def test_console_flags() -> None:
    args = parse_args(["--web.console.grafana-url", "https://grafana.example/d/x"])
    assert (args.grafana_url, args.docs_url) == ("https://grafana.example/d/x", "docs/metrics")
    for bad in (["--web.console.grafana-url", "javascript:alert(1)"], ["--web.console.docs-url", "data:x"]):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_a_running_app_reuses_the_fleet_figures_until_the_data_served_changes() -> None:
    store = fleet_store()
    documents = StatusDocuments()
    first = documents(store.view(NOW), store.ready(), NOW)
    later = documents(store.view(NOW + 5), store.ready(), NOW + 5)
    assert later["services"] is first["services"]  # nothing stored: not computed again
    assert (
        later["collectors"][0]["last_success_age_seconds"]
        == first["collectors"][0]["last_success_age_seconds"] + 5
    )
    assert first == {**status_document(store.view(NOW), store.ready(), NOW), "demo": False}
    store.put(Snapshot("skyserve", True, NOW + 6, 0.5, Build([], services=(summary("solo", "skyserve"),))))
    fresh = documents(store.view(NOW + 7), store.ready(), NOW + 7)
    assert {s["name"] for s in fresh["services"]} == {"solo", "llama", "embed"}
    # Data turning stale changes what is served, so the figures follow.
    stale = documents(store.view(NOW + 200), store.ready(), NOW + 200)
    assert stale["services"] == [] and stale["cost"]["missing_collectors"] == [
        "skyserve",
        "kubernetes",
        "baremetal",
        "probes",
        "gone",
    ]


def test_an_up_controller_needs_no_attention_and_a_stopped_one_does() -> None:
    store = SnapshotStore({})
    store.schedule("skyserve", 30.0, 90.0)
    controllers = (
        summary("sky-serve-controller-1", "skyserve", status="UP", ready=1, total=1, kind="controller"),
        summary("sky-jobs-controller-1", "skyserve", status="STOPPED", ready=0, total=1, kind="controller"),
    )
    store.put(Snapshot("skyserve", True, NOW - 1, 0.5, Build([], services=controllers)))
    document = status_document(store.view(NOW), store.ready(), NOW, ConsoleSettings())
    attention = {g["name"]: g["attention"] for g in document["service_groups"]}
    assert attention == {
        "sky-serve-controller-1": [],
        "sky-jobs-controller-1": ["skyserve status STOPPED"],
    }

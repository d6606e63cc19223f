"""Jobs pools and the controllers: workers as replicas, the pools' own families, the controllers'
cost, and what happens when an API server has no pools or will not show them."""

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from collectors.pricing import PriceBook, PricingConfig
from collectors.skyserve.client import (
    POOLS_FAILED,
    POOLS_FORBIDDEN,
    POOLS_UNSUPPORTED,
    PoolAnswer,
    ServeStatusAnswer,
    SkyServeClient,
    decode_list,
)
from collectors.skyserve.collector import Polled, SkyServeCollector
from collectors.skyserve.config import Connection, TokenSource
from collectors.skyserve.metrics import controller_price_query, price_query
from collectors.skyserve.records import DUPLICATE_SERVICE, POOL, parse_controllers, parse_pools
from collectors.skyserve.wire import services_of
from exporter.collector import CollectorContext
from exporter.series import Format, encode_families
from simulator import ControllerState, Fault, Simulator
from simulator.demo import demo_catalog_dir
from tests.unit.pricing.oracle import Case, ask_skypilot, install
from tests.unit.skyserve.helpers import ENDPOINT, context, load, render, samples, value

NOW = 1_795_830_000.0
BOOK = PriceBook.from_config(PricingConfig(catalog_dir=demo_catalog_dir()))


def _context() -> CollectorContext:
    return replace(context(), offered=lambda: (BOOK,))


def _collector(endpoint: str, **section: Any) -> SkyServeCollector:
    made = SkyServeCollector.from_config({"endpoint": endpoint, **section}, _context())
    assert isinstance(made, SkyServeCollector)
    return made


def _recorded_pools() -> list[Any]:
    return decode_list(load("api_get_pool_status.json")["return_value"], "jobs.pool_status")


def _recorded_controllers() -> list[Any]:
    return decode_list(load("api_get_status_controllers.json")["return_value"], "status")


# -- records


def test_workers_are_replicas_of_kind_pool_with_their_jobs() -> None:
    pools = parse_pools(_recorded_pools())
    assert [p.name for p in pools.services] == ["batch-l4", "train-h100"]
    batch = pools.services[0]
    assert all(w.kind == POOL for w in batch.replicas)
    assert [w.used_by for w in batch.replicas] == [(), (), (), (204,)]
    assert batch.replicas[0].placement.resources.instance_type == "g6.xlarge"
    assert pools.skipped == {}


def test_a_malformed_used_by_reads_as_no_jobs() -> None:
    raw = _recorded_pools()
    raw[0]["replica_info"][0]["used_by"] = {"not": "a list"}
    raw[0]["replica_info"][1]["used_by"] = [7, "eight", True]
    workers = parse_pools(raw).services[0].replicas
    assert (workers[0].used_by, workers[1].used_by) == ((), (7,))


def test_a_pool_named_like_a_service_is_skipped() -> None:
    pools = _recorded_pools()
    services = [{**pools[1], "pool": False}]  # a service named train-h100
    polled = Polled.decode(
        ServeStatusAnswer(
            services=tuple(services_of(services)),
            upstream={},
            pools=PoolAnswer(records=tuple(services_of(pools))),
        )
    )
    assert [p.name for p in polled.pools.services] == ["batch-l4"]
    assert polled.skipped == {DUPLICATE_SERVICE: 1}


# -- against the simulator


def test_pools_are_collected_beside_the_services() -> None:
    with Simulator(services=1, replicas_per_service=2, seed=4, pools=2) as sim:
        collector = _collector(sim.url)
        build = collector.build(collector.fetch(), NOW)
        raw_pools = sim.pools.records(sim.fleet.now)
    parsed = samples(render(build.families))
    assert build.skipped == {}
    infos = {
        dict(labels)["service_name"]: dict(labels)["kind"]
        for (name, labels), _ in parsed.items()
        if name == "skyserve_replica_info"
    }
    assert infos["batch-l4"] == infos["train-h100"] == "pool"
    assert set(infos.values()) == {"pool", "service"}
    assert value(parsed, "skyserve_pool_status", service_name="train-h100", status="READY") == 1
    for pool in raw_pools:
        workers = pool["replica_info"]
        ready = sum(1 for w in workers if w["status"] == "READY")
        busy = sum(1 for w in workers if w["used_by"])
        name = pool["name"]
        assert value(parsed, "skyserve_pool_workers", service_name=name, status="READY") == ready
        assert value(parsed, "skyserve_pool_busy_workers", service_name=name) == busy
    # An idle H100 worker costs p5.48xlarge's list price (us-east-1).
    h100 = next(p for p in raw_pools if p["name"] == "train-h100")["replica_info"]
    idle = sum(1 for w in h100 if w["status"] == "READY" and not w["used_by"])
    assert value(
        parsed, "skyserve_pool_idle_hourly_cost_dollars", service_name="train-h100"
    ) == pytest.approx(55.04 * idle)
    assert value(
        parsed,
        "skyserve_controller_hourly_cost_dollars",
        controller="sky-jobs-controller-7f3e9a1c",
        kind="jobs",
        cloud="aws",
        region="us-east-1",
        price_source="catalog",
    ) == pytest.approx(0.192)
    text = encode_families(Format.TEXT, build.families).decode()
    assert "simulated_pool_secret" not in text


def test_an_api_server_without_pools_is_reported_and_services_still_collected() -> None:
    with Simulator(services=1, replicas_per_service=2, seed=4, pools=1, pool_route=False) as sim:
        collector = _collector(sim.url)
        build = collector.build(collector.fetch(), NOW)
    assert build.skipped == {POOLS_UNSUPPORTED: 1}
    names = {family.name for family in build.families if family.samples}
    assert "skyserve_service_status" in names
    assert "skyserve_pool_status" not in names


def test_no_jobs_controller_means_no_pools_and_nothing_skipped() -> None:
    with Simulator(services=1, replicas_per_service=2, seed=4, pools=1) as sim:
        sim.set_jobs_controller(ControllerState.STOPPED)
        collector = _collector(sim.url)
        build = collector.build(collector.fetch(), NOW)
    assert build.skipped == {}
    assert not any(family.samples for family in build.families if family.name == "skyserve_pool_status")


@pytest.mark.parametrize(
    ("jobs_controller", "skipped"),
    [(ControllerState.ABSENT, {}), (ControllerState.STOPPED, {}), (ControllerState.UP, {POOLS_FAILED: 1})],
)
def test_an_api_server_without_internet_has_no_pools_unless_the_jobs_controller_is_up(
    jobs_controller: ControllerState, skipped: dict[str, int]
) -> None:
    """``pool_status`` fails its network check as ``serve status`` does; with no live jobs controller
    that means no pools, as for the services."""
    with Simulator(services=0, replicas_per_service=0, seed=4, pools=1) as sim:
        sim.set_jobs_controller(jobs_controller)
        sim.set_fault(Fault.OFFLINE)
        collector = _collector(sim.url)
        build = collector.build(collector.fetch(), NOW)
    assert build.skipped == skipped


def test_pools_off_asks_nothing() -> None:
    with Simulator(services=1, replicas_per_service=2, seed=4, pools=1) as sim:
        collector = _collector(sim.url, pools=False)
        collector.build(collector.fetch(), NOW)
        assert sim.request_count("/jobs/pool_status") == 0


@responses.activate
def test_a_user_without_permission_for_pools_is_reported() -> None:
    request_id = {"X-Skypilot-Request-ID": "r1"}
    responses.get(f"{ENDPOINT}/api/health", json=load("api_health.json"))
    responses.post(f"{ENDPOINT}/serve/status", json=None, headers=request_id)
    responses.post(f"{ENDPOINT}/status", json=None, headers=request_id)
    responses.get(f"{ENDPOINT}/api/get", json=load("api_get_serve_status.json"))
    responses.post(
        f"{ENDPOINT}/jobs/pool_status", status=403, json={"detail": "Permission denied: jobs pools"}
    )
    client = SkyServeClient(
        requests.Session(), Connection(base_url=ENDPOINT, basic_auth=None, token=TokenSource()), 20.0
    )
    answer = client.fetch()
    assert answer.services
    assert answer.pools.reason == POOLS_FORBIDDEN
    assert answer.pools.problem is not None and "Permission denied" in answer.pools.problem


POOLS_ID = "87612ec2-b381-462e-91d2-71db45f9178b"


@pytest.mark.parametrize(
    ("submit", "answer", "reason", "said"),
    [
        pytest.param((404, {"detail": "Not Found"}), None, POOLS_UNSUPPORTED, "has no pools", id="no route"),
        pytest.param((401, {"detail": "Not allowed"}), None, POOLS_FORBIDDEN, "Not allowed", id="submit 401"),
        pytest.param((502, None), None, POOLS_FAILED, "HTTP 502", id="submit 502"),
        pytest.param(None, (403, {"detail": "Not yours"}), POOLS_FORBIDDEN, "Not yours", id="answer 403"),
        # An unknown request id is no missing route: the route took the request.
        pytest.param(None, (404, {"detail": "Request not found"}), POOLS_FAILED, "HTTP 404", id="answer 404"),
        pytest.param(None, (503, None), POOLS_FAILED, "HTTP 503", id="answer 503"),
    ],
)
def test_a_failed_pool_call_is_classified_and_the_rest_collected(
    submit: tuple[int, Any] | None, answer: tuple[int, Any] | None, reason: str, said: str
) -> None:
    """Submitted with the other calls and collected last, the pools still fail on their own: the
    reason is the one of the step that failed, and the services and controllers are kept."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{ENDPOINT}/api/health", json=load("api_health.json"))
        for path, request_id, fixture in (
            ("/serve/status", "serve", "api_get_serve_status.json"),
            ("/status", "clusters", "api_get_status_controllers.json"),
        ):
            mock.post(f"{ENDPOINT}{path}", json=None, headers={"X-Skypilot-Request-ID": request_id})
            match = [matchers.query_param_matcher({"request_id": request_id})]
            mock.get(f"{ENDPOINT}/api/get", json=load(fixture), match=match)
        code, body = submit or (200, None)
        mock.post(
            f"{ENDPOINT}/jobs/pool_status",
            status=code,
            json=body,
            headers={"X-Skypilot-Request-ID": POOLS_ID},
        )
        code, body = answer or (200, load("api_get_pool_status.json"))
        match = [matchers.query_param_matcher({"request_id": POOLS_ID})]
        mock.get(f"{ENDPOINT}/api/get", status=code, json=body, match=match)
        client = SkyServeClient(
            requests.Session(), Connection(base_url=ENDPOINT, basic_auth=None, token=TokenSource()), 20.0
        )
        found = client.fetch()
    assert len(found.services) == 4 and len(found.controllers.records) == 2
    assert found.pools.records == ()
    assert found.pools.reason == reason
    assert found.pools.problem is not None and said in found.pools.problem


# -- truth: the controllers' and workers' prices are SkyPilot's own


def test_controller_and_worker_prices_match_skypilots_get_cost(tmp_path: Path) -> None:
    controllers = parse_controllers(_recorded_controllers()).records
    workers = [w for pool in parse_pools(_recorded_pools()).services for w in pool.replicas]
    queries = {c.name: controller_price_query(c) for c in controllers} | {
        f"{w.service_name}-{w.replica_id}": price_query(w) for w in workers
    }
    cases = [
        Case(
            name,
            query,
            f"{query.cloud}/{query.region}" + (f"/{query.zone}" if query.zone else ""),
            query.instance_type,
            f"{query.accelerator}:{int(query.accelerators_per_node or 0)}" if query.accelerator else None,
        )
        for name, query in queries.items()
    ]
    install(tmp_path, demo_catalog_dir())
    results = ask_skypilot(tmp_path, cases)["results"]
    for case in cases:
        ours = BOOK.price(case.query).hourly
        assert ours is not None, case.name
        # SkyPilot's cost report: the per-node get_cost(3600) times the node count.
        skypilot = results[case.name]["hourly"] * case.query.nodes
        assert skypilot == pytest.approx(ours, rel=1e-12), case.name

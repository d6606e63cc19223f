"""Cost families of the SkyServe collector, priced from the demo catalog shipped with the simulator."""

from dataclasses import replace
from typing import Any

import pytest

from collectors.pricing import PriceBook, PricingConfig
from collectors.skyserve.client import ServeStatusAnswer
from collectors.skyserve.collector import Polled, SkyServeCollector
from collectors.skyserve.wire import services_of
from simulator.demo import demo_catalog_dir
from tests.unit.skyserve.helpers import ENDPOINT, context, render, samples

NOW = 1_795_830_000.0
G6_SPOT_US_EAST_2A = 0.359439  # the demo catalog's SpotPrice for g6.xlarge in us-east-2a
G6_ON_DEMAND = 0.8048


def book() -> PriceBook:
    return PriceBook.from_config(PricingConfig(catalog_dir=demo_catalog_dir()))


def collector(prices: PriceBook | None) -> SkyServeCollector:
    made = SkyServeCollector.from_config(
        {"endpoint": ENDPOINT, "interval": "30s"}, replace(context(), offered=lambda: (prices,))
    )
    assert isinstance(made, SkyServeCollector)
    return made


def replica(replica_id: int, status: str, spot: bool = True, instance: str = "g6.xlarge") -> dict[str, Any]:
    tag = "[spot]" if spot else ""
    return {
        "replica_id": replica_id,
        "name": f"svc-{replica_id}",
        "status": status,
        "is_spot": spot,
        "cloud": "AWS",
        "region": "us-east-2",
        "infra": "AWS (us-east-2a)",
        "resources_str_full": f"1x{tag}(gpus=L4:1, cpus=4, mem=16, {instance}, disk=256)",
    }


def fleet(*replicas: dict[str, Any]) -> Polled:
    service = {"name": "svc", "status": "READY", "replica_info": list(replicas)}
    return Polled.decode(ServeStatusAnswer(services=tuple(services_of([service])), upstream={}))


def cost_samples(made: SkyServeCollector, raw: Polled, now: float = NOW) -> dict[Any, float]:
    parsed = samples(render(made.build(raw, now).families))
    return {k: v for k, v in parsed.items() if "cost" in k[0] or "unpriced" in k[0]}


def labels(replica_id: int, spot: bool = True) -> frozenset[tuple[str, str]]:
    return frozenset(
        {
            "service_name": "svc",
            "replica_id": str(replica_id),
            "source": "skyserve",
            "cloud": "aws",
            "region": "us-east-2",
            "spot": "true" if spot else "false",
            "price_source": "catalog",
        }.items()
    )


def test_replicas_holding_resources_carry_their_catalog_price() -> None:
    got = cost_samples(collector(book()), fleet(replica(1, "READY"), replica(2, "STARTING", spot=False)))
    assert got[("skyserve_replica_hourly_cost_dollars", labels(1))] == pytest.approx(G6_SPOT_US_EAST_2A)
    assert got[("skyserve_replica_hourly_cost_dollars", labels(2, spot=False))] == pytest.approx(G6_ON_DEMAND)
    assert got[("skyserve_replica_cost_dollars_total", labels(1))] == 0.0  # nothing accrued yet


@pytest.mark.parametrize(
    ("status", "costs"),
    [
        ("PENDING", False),
        ("PROVISIONING", True),
        ("NOT_READY", True),
        ("SHUTTING_DOWN", True),
        ("FAILED_CLEANUP", True),  # teardown failed: the cluster may still be billed
        ("PREEMPTED", False),
        ("FAILED_PROVISION", False),
    ],
)
def test_which_statuses_cost(status: str, costs: bool) -> None:
    got = cost_samples(collector(book()), fleet(replica(1, status)))
    assert (("skyserve_replica_hourly_cost_dollars", labels(1)) in got) is costs


def test_an_unpriceable_replica_is_visible_with_its_reason_never_free() -> None:
    got = cost_samples(
        collector(book()), fleet(replica(1, "READY", instance="g99.mega"), replica(2, "READY"))
    )
    unpriced = frozenset(
        {"service_name": "svc", "source": "skyserve", "reason": "unknown_instance_type"}.items()
    )
    assert got[("skyserve_unpriced_replicas", unpriced)] == 1
    hourly = [k for k in got if k[0] == "skyserve_replica_hourly_cost_dollars"]
    assert [dict(k[1])["replica_id"] for k in hourly] == ["2"]


def test_without_a_price_book_everything_is_unpriced() -> None:
    got = cost_samples(collector(None), fleet(replica(1, "READY")))
    unpriced = frozenset({"service_name": "svc", "source": "skyserve", "reason": "no_price_book"}.items())
    assert got == {("skyserve_unpriced_replicas", unpriced): 1}


def test_spend_accrues_between_collections_and_not_across_a_stale_gap() -> None:
    made = collector(book())
    raw = fleet(replica(1, "READY"))
    for minute in range(61):  # an hour of polls every minute (stale_after is 3 x 30 s)
        got = cost_samples(made, raw, NOW + 60 * minute)
    total = ("skyserve_replica_cost_dollars_total", labels(1))
    assert got[total] == pytest.approx(G6_SPOT_US_EAST_2A, rel=1e-9)
    got = cost_samples(made, raw, NOW + 3600 + 600)  # ten minutes unseen: nothing added for them
    assert got[total] == pytest.approx(G6_SPOT_US_EAST_2A, rel=1e-9)


def test_the_service_summary_sums_the_cost_samples() -> None:
    """The console's cost figures (exporter/status.py) are these sums: they must be the samples'."""
    made = collector(book())
    raw = fleet(replica(1, "READY"), replica(2, "STARTING", spot=False), replica(3, "READY", instance="nope"))
    build = made.build(raw, NOW)
    parsed = samples(render(build.families))
    hourly = {k: v for k, v in parsed.items() if k[0] == "skyserve_replica_hourly_cost_dollars"}
    (summary,) = build.services
    assert summary.hourly_cost == pytest.approx(sum(hourly.values()))
    assert {(p.cloud, p.spot): p.replicas for p in summary.costs} == {("aws", True): 1, ("aws", False): 1}
    assert {(p.cloud, p.spot): p.hourly_cost for p in summary.costs} == pytest.approx(
        {("aws", True): G6_SPOT_US_EAST_2A, ("aws", False): G6_ON_DEMAND}
    )
    unpriced = {dict(k[1])["reason"]: v for k, v in parsed.items() if k[0] == "skyserve_unpriced_replicas"}
    assert summary.unpriced == unpriced == {"unknown_instance_type": 1}
    assert summary.replicas_by_status == {"READY": 2, "STARTING": 1}

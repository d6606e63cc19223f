import pytest

from collectors.pricing import Price, PricedReplica, ReplicaCosts, ServiceCosts, unpriced
from collectors.pricing.replica_costs import REPLICA_COST_SPECS, CostAccrual
from exporter.collector import CostSlice
from exporter.metrics import FamilyBuilder, MetricTable


def run_hour(
    accrual: CostAccrual[str], rates: dict[str, float], step: float, start: float = 0.0
) -> dict[str, float]:
    totals: dict[str, float] = {}
    now = start
    while now <= start + 3600:
        totals = accrual.observe(now, rates)
        now += step
    return totals


def test_an_hour_at_a_steady_rate_costs_the_rate() -> None:
    totals = run_hour(CostAccrual(stale_after=90), {"a": 2.5, "b": 0.8048}, step=30)
    assert totals["a"] == pytest.approx(2.5, abs=1e-9)
    assert totals["b"] == pytest.approx(0.8048, abs=1e-9)


def test_a_price_change_takes_effect_from_the_collection_that_saw_it() -> None:
    accrual: CostAccrual[str] = CostAccrual(stale_after=90)
    accrual.observe(0, {"a": 1.0})
    accrual.observe(60, {"a": 3.0})  # the first minute was at $1/h
    totals = accrual.observe(120, {"a": 3.0})  # the second at $3/h
    assert totals["a"] == pytest.approx(1.0 / 60 + 3.0 / 60)


def test_no_accrual_across_a_stale_gap() -> None:
    accrual: CostAccrual[str] = CostAccrual(stale_after=90)
    accrual.observe(0, {"a": 3600.0})  # $1 a second, to read totals as seconds
    accrual.observe(30, {"a": 3600.0})
    totals = accrual.observe(30 + 600, {"a": 3600.0})  # the exporter saw nothing for 10 minutes
    assert totals["a"] == pytest.approx(30.0)
    totals = accrual.observe(660, {"a": 3600.0})
    assert totals["a"] == pytest.approx(60.0)


def test_a_key_absent_from_a_poll_does_not_accrue_for_it_and_keeps_its_total() -> None:
    accrual: CostAccrual[str] = CostAccrual(stale_after=90)
    accrual.observe(0, {"a": 3600.0, "b": 3600.0})
    accrual.observe(30, {"a": 3600.0, "b": 3600.0})
    assert "b" not in accrual.observe(60, {"a": 3600.0})
    totals = accrual.observe(90, {"a": 3600.0, "b": 3600.0})
    assert totals == {"a": pytest.approx(90.0), "b": pytest.approx(30.0)}


def test_keys_gone_for_good_are_forgotten() -> None:
    accrual: CostAccrual[str] = CostAccrual(stale_after=90, forget_after=120)
    accrual.observe(0, {"a": 3600.0})
    accrual.observe(30, {"a": 3600.0})
    accrual.observe(200, {"x": 1.0})
    assert accrual.observe(230, {"a": 3600.0}) == {"a": 0.0}  # a new series, starting from zero


def test_totals_never_decrease_while_a_key_stays() -> None:
    accrual: CostAccrual[str] = CostAccrual(stale_after=90)
    last = 0.0
    for step, rate in enumerate([1.0, 0.0, 5.0, 2.0, 0.0, 0.0, 7.0]):
        total = accrual.observe(step * 30.0, {"a": rate})["a"]
        assert total >= last
        last = total


def test_the_cost_samples_summed_per_service_for_the_console() -> None:
    def replica(service: str, rid: str, cloud: str, spot: bool, price: Price) -> PricedReplica:
        return PricedReplica(service, rid, "skyserve", cloud, "r", spot, price)

    out = FamilyBuilder(MetricTable(REPLICA_COST_SPECS), refresh_seconds=None)
    summed = ReplicaCosts(stale_after=90).add(
        out,
        0.0,
        [
            replica("a", "1", "aws", True, Price(0.25, "catalog")),
            replica("a", "2", "aws", True, Price(0.5, "catalog")),
            replica("a", "3", "aws", False, Price(2.0, "override")),
            replica("a", "4", "gcp", False, unpriced("no_catalog")),
            replica("b", "1", "", False, unpriced("no_placement")),
            replica("b", "2", "", False, unpriced("no_placement")),
        ],
    )
    assert summed == {
        "a": ServiceCosts(
            (CostSlice("aws", False, 2.0, 1), CostSlice("aws", True, 0.75, 2)), {"no_catalog": 1}
        ),
        "b": ServiceCosts((), {"no_placement": 2}),
    }
    hourly = next(f for f in out.families() if f.name == "skyserve_replica_hourly_cost_dollars")
    assert sum(s.value for s in hourly.samples) == pytest.approx(2.75)

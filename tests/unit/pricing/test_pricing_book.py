"""The price book as collectors use it: overrides, fixed prices, health metrics, many queries."""

import itertools
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client.core import Metric

from collectors.pricing import PRICING_METRICS, KubernetesPricing, PriceBook, PriceOverride, PricingConfig
from tests.unit.pricing.catalogs import fixture_book, pod, query, write_catalog


def _override(hourly: float, **match: object) -> PriceOverride:
    return PriceOverride.model_validate({**match, "hourly": hourly})


def test_an_override_beats_the_catalog_and_is_per_node() -> None:
    book = fixture_book(overrides=(_override(0.5, cloud="aws", instance_type="g6.xlarge"),))
    price = book.price(query(nodes=2))
    assert price.hourly == pytest.approx(1.0)
    assert (price.source, price.reason) == ("override", "")


def test_the_most_specific_override_wins_whatever_the_order() -> None:
    overrides = (
        _override(1.0, cloud="aws"),
        _override(3.0, cloud="aws", region="us-east-2", instance_type="g6.xlarge"),
        _override(2.0, cloud="aws", instance_type="g6.xlarge"),
    )
    book = fixture_book(overrides=overrides)
    assert book.price(query()).hourly == 3.0
    assert book.price(query(region="us-east-1")).hourly == 2.0
    assert book.price(query(instance_type="p4d.24xlarge", region="us-east-1")).hourly == 1.0
    gcp = query(cloud="gcp", region="us-central1", instance_type="g2-standard-8")
    assert book.price(gcp).source == "catalog"


def test_equally_specific_overrides_keep_the_config_order() -> None:
    book = fixture_book(overrides=(_override(1.5, accelerator="l4"), _override(9.0, cloud="aws")))
    assert book.price(query()).hourly == 1.5


def test_overrides_match_case_insensitively_and_on_spot() -> None:
    overrides = (_override(0.2, cloud="AWS", region="US-East-2", spot=True),)
    book = fixture_book(overrides=overrides)
    assert book.price(query(spot=True)).hourly == 0.2
    assert book.price(query(spot=False)).hourly == pytest.approx(0.8048)


def test_an_override_prices_what_nothing_else_can() -> None:
    book = fixture_book(
        overrides=(
            _override(2.4, cloud="lambda", instance_type="gpu_1x_a100"),
            _override(0.9, cloud="kubernetes", accelerator="A100"),
        )
    )
    assert book.price(query(cloud="lambda", instance_type="gpu_1x_a100")).hourly == 2.4
    assert book.price(pod("gke-prod", "A100", 1.0)).hourly == 0.9
    assert book.price(query(cloud="")).reason == "no_placement"  # no placement, nothing to match


def test_an_override_beats_kubernetes_rates() -> None:
    book = fixture_book(
        kubernetes=KubernetesPricing(accelerators={"L4": 0.7}),
        overrides=(_override(0.3, cloud="kubernetes", region="onprem-gpu"),),
    )
    assert book.price(pod("onprem-gpu", "L4", 1.0)).hourly == 0.3
    assert book.price(pod("gke-prod", "L4", 1.0)).hourly == pytest.approx(0.7)


@pytest.mark.parametrize(
    ("hourly", "monthly", "expected"),
    [(None, 838.0, 838.0 / 730), (1.25, None, 1.25), (0.0, None, 0.0)],
)
def test_fixed_prices(hourly: float | None, monthly: float | None, expected: float) -> None:
    price = PriceBook.fixed(hourly=hourly, monthly=monthly)
    assert price.hourly == pytest.approx(expected)
    assert price.source == "fixed"


def test_a_fixed_price_needs_one_number() -> None:
    assert PriceBook.fixed().reason == "no_fixed_price"
    with pytest.raises(ValueError, match="not both"):
        PriceBook.fixed(hourly=1.0, monthly=730.0)
    with pytest.raises(ValueError, match=">= 0"):
        PriceBook.fixed(monthly=-1.0)
    with pytest.raises(ValueError, match="finite"):
        PriceBook.fixed(hourly=float("nan"))


def test_health_metric_families(tmp_path: Path) -> None:
    path = write_catalog(
        tmp_path,
        "aws",
        "g6.xlarge,L4,1.0,4.0,16.0,,0.8048,0.34,us-east-2,us-east-2a",
        "g6.xlarge,L4,1.0,4.0,16.0,,oops,0.34,us-east-2,us-east-2b",
    )
    book = PriceBook.from_config(PricingConfig(catalog_dir=tmp_path, clouds=("aws", "gcp")))
    families = book.metric_families(now=0.0)
    assert [family.name for family in families] == [_family_name(spec.name) for spec in PRICING_METRICS]
    assert _samples(families) == {
        ("skyserve_pricing_catalog_rows", "aws"): 1,
        ("skyserve_pricing_catalog_rows", "gcp"): 0,
        ("skyserve_pricing_catalog_rows_skipped", "aws"): 1,
        ("skyserve_pricing_catalog_rows_skipped", "gcp"): 0,
        ("skyserve_pricing_catalog_updated_timestamp_seconds", "aws"): path.stat().st_mtime,
        ("skyserve_pricing_refresh_failures_total", "aws"): 0,
        ("skyserve_pricing_refresh_failures_total", "gcp"): 0,
    }


def test_many_queries() -> None:
    """10k mixed queries, as one collection of a big fleet makes; speed is measured in benchmarks."""
    book = fixture_book(kubernetes=KubernetesPricing(cpu=0.05, memory=0.01, accelerators={"L4": 0.7}))
    kinds = [
        query(spot=True, zone="us-east-2a"),
        query(region="us-east-1", instance_type="p4d.24xlarge", nodes=2),
        query(cloud="gcp", region="us-central1", instance_type="g2-standard-8", spot=True),
        query(cloud="azure", region="eastus", instance_type="Standard_NC24ads_A100_v4"),
        pod("gke-prod", "L4", 1.0),
        pod("ssh-pool1", cpus=8.0, memory_gib=32.0),
        query(cloud=""),
    ]
    queries = [replace(kind, nodes=1 + i % 3) for i, kind in zip(range(10_000), itertools.cycle(kinds))]
    prices = [book.price(each) for each in queries]
    assert sum(price.hourly is None for price in prices) == len([q for q in queries if not q.cloud])
    assert prices[0].hourly == pytest.approx(0.3412)


def _family_name(name: str) -> str:
    # prometheus_client keeps a counter family's name without the _total its sample carries.
    return name.removesuffix("_total")


def _samples(families: list[Metric]) -> dict[tuple[str, str], float]:
    return {
        (sample.name, sample.labels["cloud"]): sample.value
        for family in families
        for sample in family.samples
        if not sample.name.endswith("_created")
    }

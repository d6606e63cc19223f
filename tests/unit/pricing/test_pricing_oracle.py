"""SkyPilot itself is the oracle: the price book must price each case as SkyPilot 0.14.1 does."""

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from collectors.pricing import PriceBook, PricingConfig
from tests.unit.pricing.catalogs import CATALOGS, SKYPILOT_CONFIG, pod, query
from tests.unit.pricing.oracle import Case, ask_skypilot, install, k8s_type


def _gcp(
    instance_type: str, accelerator: str, count: int, region: str, zone: str = "", **changes: Any
) -> Case:
    where = f"gcp/{region}/{zone}" if zone else f"gcp/{region}"
    priced = query(
        cloud="gcp",
        region=region,
        zone=zone,
        instance_type=instance_type,
        accelerator=accelerator,
        accelerators_per_node=float(count),
        **changes,
    )
    label = f"gcp {instance_type}+{accelerator}:{count} {zone or region}{' spot' if priced.spot else ''}"
    return Case(label, priced, where, instance_type, f"{accelerator}:{count}")


PRICED = (
    Case("aws spot, zone unknown: cheapest zone", query(spot=True), "aws/us-east-2", "g6.xlarge"),
    Case(
        "aws spot, zone known", query(spot=True, zone="us-east-2a"), "aws/us-east-2/us-east-2a", "g6.xlarge"
    ),
    Case("aws on-demand, zone unknown", query(), "aws/us-east-2", "g6.xlarge"),
    Case("aws on-demand, zone known", query(zone="us-east-2b"), "aws/us-east-2/us-east-2b", "g6.xlarge"),
    Case(
        "aws multi-node spot",
        query(
            region="us-east-1",
            instance_type="p4d.24xlarge",
            accelerator="A100",
            accelerators_per_node=8.0,
            spot=True,
            nodes=2,
        ),
        "aws/us-east-1",
        "p4d.24xlarge",
    ),
    Case(
        "aws cpu-only spot, zone known",
        query(
            region="us-west-2",
            zone="us-west-2b",
            instance_type="m6i.2xlarge",
            accelerator="",
            accelerators_per_node=None,
            spot=True,
        ),
        "aws/us-west-2/us-west-2b",
        "m6i.2xlarge",
    ),
    _gcp("g2-standard-8", "L4", 1, "us-central1", "us-central1-a"),
    _gcp("g2-standard-8", "L4", 1, "us-central1", spot=True),
    _gcp("n1-standard-8", "T4", 1, "us-central1", "us-central1-b", spot=True),
    _gcp("a2-highgpu-8g", "A100", 8, "europe-west4", nodes=2),
    Case(
        "azure A100 on-demand",
        query(
            cloud="azure", region="eastus", instance_type="Standard_NC24ads_A100_v4", accelerator="A100-80GB"
        ),
        "azure/eastus",
        "Standard_NC24ads_A100_v4",
    ),
    Case(
        "azure A100 spot",
        query(
            cloud="azure",
            region="westeurope",
            instance_type="Standard_NC24ads_A100_v4",
            accelerator="A100-80GB",
            spot=True,
        ),
        "azure/westeurope",
        "Standard_NC24ads_A100_v4",
    ),
    Case(
        "azure cpu-only spot",
        query(
            cloud="azure",
            region="eastus",
            instance_type="Standard_D8s_v5",
            accelerator="",
            accelerators_per_node=None,
            spot=True,
        ),
        "azure/eastus",
        "Standard_D8s_v5",
    ),
    Case(
        "k8s GPU, per-context rate",
        pod("onprem-gpu", "L4", 1.0),
        "k8s/onprem-gpu",
        k8s_type(4, 16, "L4", 1),
        "L4:1",
    ),
    Case(
        "k8s GPU, global rate", pod("gke-prod", "L4", 2.0), "k8s/gke-prod", k8s_type(4, 16, "L4", 2), "L4:2"
    ),
    Case("k8s cpu-only", pod("gke-prod", cpus=8.0, memory_gib=32.0), "k8s/gke-prod", k8s_type(8, 32)),
    Case(
        "ssh pool, per-context cpu rate",
        pod("ssh-gpu-rack-a", cpus=8.0, memory_gib=32.0),
        "ssh/gpu-rack-a",
        k8s_type(8, 32),
    ),
    Case(
        "ssh pool multi-node GPU",
        pod("ssh-pool1", "H100", 8.0, cpus=64.0, memory_gib=512.0, nodes=2),
        "ssh/pool1",
        k8s_type(64, 512, "H100", 8),
        "H100:8",
    ),
)

# SkyPilot refuses to price these (it raises); the price book must leave them unpriced.
REFUSED = (
    Case(
        "aws spot in a zone with no spot price",
        query(zone="us-east-2c", spot=True),
        "aws/us-east-2/us-east-2c",
        "g6.xlarge",
    ),
    Case(
        "aws spot with no spot price in the region",
        query(region="eu-west-1", instance_type="g5.xlarge", accelerator="A10G", spot=True),
        "aws/eu-west-1",
        "g5.xlarge",
    ),
    Case(
        "azure spot with no spot price",
        query(
            cloud="azure", region="eastus", instance_type="Standard_NC4as_T4_v3", accelerator="T4", spot=True
        ),
        "azure/eastus",
        "Standard_NC4as_T4_v3",
    ),
)

# A deliberate difference: SkyPilot prices a GPU that kubernetes.pricing has no rate for at $0.
ZERO_IN_SKYPILOT = Case(
    "k8s GPU without a rate",
    pod("gke-prod", "A100", 1.0),
    "k8s/gke-prod",
    k8s_type(8, 32, "A100", 1),
    "A100:1",
)

# SkyPilot's gcp_catalog.get_accelerator_hourly_cost falls back to the on-demand price of a spot GPU
# without a spot price, but under pandas >= 3 its idxmin() raises on all-NA before the fallback.
SPOT_GPU_FALLBACK = _gcp("g2-standard-8", "L4", 1, "us-central1", "us-central1-c", spot=True)

CASES = (*PRICED, *REFUSED, ZERO_IN_SKYPILOT, SPOT_GPU_FALLBACK)


@pytest.fixture(scope="module")
def sky_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    install(home, CATALOGS, SKYPILOT_CONFIG)
    return home


@pytest.fixture(scope="module")
def skypilot(sky_home: Path) -> dict[str, Any]:
    """SkyPilot's answers for every case (``results`` by case name) and its catalog URLs."""
    return ask_skypilot(sky_home, CASES)


@pytest.fixture(scope="module")
def oracle(skypilot: dict[str, Any]) -> dict[str, Any]:
    results: dict[str, Any] = skypilot["results"]
    return results


@pytest.fixture(scope="module")
def book(sky_home: Path) -> PriceBook:
    sky = sky_home / ".sky"
    return PriceBook.from_config(
        PricingConfig(catalog_dir=sky / "catalogs" / "v8", skypilot_config=sky / "config.yaml")
    )


@pytest.mark.parametrize("case", PRICED, ids=lambda case: case.name)
def test_prices_match_skypilot(case: Case, oracle: dict[str, Any], book: PriceBook) -> None:
    expected = oracle[case.name]
    assert "hourly" in expected, f"SkyPilot could not price {case.name}: {expected['error']}"
    price = book.price(case.query)
    assert price.source == "catalog", price
    assert price.hourly == pytest.approx(expected["hourly"] * case.query.nodes, rel=1e-12)


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.name)
def test_what_skypilot_cannot_price_stays_unpriced(
    case: Case, oracle: dict[str, Any], book: PriceBook
) -> None:
    assert "error" in oracle[case.name], oracle[case.name]
    assert book.price(case.query).hourly is None


def test_a_gpu_without_a_rate_is_unpriced_where_skypilot_says_zero(
    oracle: dict[str, Any], book: PriceBook
) -> None:
    assert oracle[ZERO_IN_SKYPILOT.name] == {"hourly": 0.0}
    price = book.price(ZERO_IN_SKYPILOT.query)
    assert (price.hourly, price.reason) == (None, "unknown_accelerator")


def test_a_spot_gpu_without_a_spot_price_falls_back_to_on_demand(
    oracle: dict[str, Any], book: PriceBook
) -> None:
    expected_hourly = 0.1182 + 0.56004  # the zone's spot host + the GPU's on-demand price
    price = book.price(SPOT_GPU_FALLBACK.query)
    assert price.hourly == pytest.approx(expected_hourly, rel=1e-12)
    answer = oracle[SPOT_GPU_FALLBACK.name]
    if "error" in answer:  # SkyPilot 0.14.1 with pandas >= 3
        assert "all NA" in answer["error"], answer
    else:  # with pandas 2 SkyPilot reaches its fallback
        assert answer["hourly"] == pytest.approx(expected_hourly, rel=1e-12)


def test_skypilot_fetched_nothing(oracle: dict[str, Any], sky_home: Path) -> None:
    """SkyPilot writes .meta/ when it downloads a catalog: proof it used the fixtures only."""
    assert oracle
    assert not (sky_home / ".sky" / "catalogs" / "v8" / ".meta").exists()


def test_the_default_refresh_urls_are_skypilots(skypilot: dict[str, Any]) -> None:
    assert PricingConfig().refresh_url == skypilot["catalog_url"]
    assert PricingConfig().refresh_fallback_url == skypilot["catalog_mirror_url"]


def test_without_skypilot_the_oracle_fails_with_instructions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match=r"skypilot==0\.14\.1"):
        ask_skypilot(tmp_path, PRICED[:1])

"""Catalog lookups: spot vs on-demand, zones, regions, GCP's separate GPU rows, unpriced reasons."""

import logging
import os
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from collectors.pricing import PriceBook, PricingConfig
from collectors.pricing.collector import PricingCollector
from exporter.collector import CollectorContext
from exporter.errors import ErrorKind
from exporter.runner import run_once
from exporter.snapshot import Snapshot
from tests.unit.pricing.catalogs import copy_catalogs, fixture_book, query, write_catalog

CONTEXT = CollectorContext(requests.Session, lambda: 1_800_000_000.0, logging.getLogger("test.pricing"), {})

BOOK = fixture_book()


@pytest.mark.parametrize(
    ("changes", "hourly"),
    [
        ({}, 0.8048),
        ({"zone": "us-east-2b"}, 0.8048),
        ({"spot": True}, 0.2981),  # the cheapest zone; us-east-2c's empty cell is skipped
        ({"spot": True, "zone": "us-east-2a"}, 0.3412),  # the zone's own row (zone IDs mapped to names)
        ({"spot": True, "region": "US-EAST-2"}, 0.2981),  # regions compare case-insensitively
        ({"spot": True, "region": "us-east-1", "nodes": 3}, 3 * 0.33),
    ],
)
def test_aws_prices(changes: dict[str, object], hourly: float) -> None:
    price = BOOK.price(query(**changes))
    assert price.hourly == pytest.approx(hourly)
    assert (price.source, price.reason) == ("catalog", "")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"spot": True, "zone": "us-east-2c"}, "no_spot_price"),
        ({"spot": True, "region": "eu-west-1", "instance_type": "g5.xlarge"}, "no_spot_price"),
        ({"instance_type": "g7.mega"}, "unknown_instance_type"),
        ({"region": "ap-south-1"}, "unknown_region"),
        ({"instance_type": ""}, "incomplete_resources"),
        ({"nodes": 0}, "incomplete_resources"),
        ({"cloud": ""}, "no_placement"),
        ({"cloud": "lambda"}, "no_catalog"),
    ],
)
def test_unpriced_queries_say_why(changes: dict[str, object], reason: str) -> None:
    price = BOOK.price(query(**changes))
    assert (price.hourly, price.source, price.reason) == (None, "unknown", reason)


def test_gcp_adds_the_gpu_row_to_the_host() -> None:
    g2 = query(cloud="gcp", region="us-central1", instance_type="g2-standard-8")
    assert BOOK.price(g2).hourly == pytest.approx(0.29394 + 0.56004)
    assert BOOK.price(replace(g2, spot=True)).hourly == pytest.approx(0.1023 + 0.2031)
    assert BOOK.price(replace(g2, spot=True, zone="us-central1-a")).hourly == pytest.approx(0.1182 + 0.2231)


def test_a_gcp_spot_gpu_without_a_spot_price_costs_its_on_demand_price() -> None:
    zone_c = query(
        cloud="gcp", region="us-central1", zone="us-central1-c", instance_type="g2-standard-8", spot=True
    )
    assert BOOK.price(zone_c).hourly == pytest.approx(0.1182 + 0.56004)


def test_a_gcp_host_without_gpus_is_just_the_host() -> None:
    n1 = query(
        cloud="gcp",
        region="us-central1",
        instance_type="n1-standard-8",
        accelerator="",
        accelerators_per_node=None,
    )
    assert BOOK.price(n1).hourly == pytest.approx(0.379998)


@pytest.mark.parametrize(
    ("accelerator", "count", "reason"),
    [
        ("T4", 4.0, "unknown_accelerator"),  # no row for four T4s
        ("V100", 1.0, "unknown_accelerator"),
        ("T4", None, "incomplete_resources"),
    ],
)
def test_gcp_gpu_problems(accelerator: str, count: float | None, reason: str) -> None:
    n1 = query(
        cloud="gcp",
        region="us-central1",
        instance_type="n1-standard-8",
        accelerator=accelerator,
        accelerators_per_node=count,
    )
    assert BOOK.price(n1).reason == reason


def test_gcp_gpu_names_compare_case_insensitively() -> None:
    n1 = query(cloud="gcp", region="us-central1", instance_type="n1-standard-8", accelerator="t4")
    assert BOOK.price(n1).hourly == pytest.approx(0.379998 + 0.35)


def test_aws_and_azure_include_the_gpu_in_the_instance_price() -> None:
    azure = query(
        cloud="azure", region="eastus", instance_type="Standard_NC24ads_A100_v4", accelerator="A100-80GB"
    )
    assert BOOK.price(azure).hourly == pytest.approx(3.673)
    assert BOOK.price(query(accelerator="H100", accelerators_per_node=8.0)).hourly == pytest.approx(0.8048)


def test_without_a_region_the_cheapest_region_offering_everything_is_used() -> None:
    assert BOOK.price(query(region="", spot=True)).hourly == pytest.approx(0.2981)
    a2 = query(
        cloud="gcp", region="", instance_type="a2-highgpu-8g", accelerator="A100", accelerators_per_node=8.0
    )
    assert BOOK.price(a2).hourly == pytest.approx(6.51251 + 12.9092)
    assert BOOK.price(query(region="", instance_type="g7.mega")).reason == "unknown_instance_type"


def test_without_the_zone_mapping_an_unlisted_zone_prices_as_the_region(tmp_path: Path) -> None:
    catalog_dir = copy_catalogs(tmp_path / "v8")
    (catalog_dir / "aws" / "az_mappings-5f1c9a2e.csv").unlink()
    book = PriceBook.from_config(PricingConfig(catalog_dir=catalog_dir))
    assert book.price(query(spot=True, zone="us-east-2a")).hourly == pytest.approx(0.2981)
    assert book.price(query(spot=True, zone="use2-az1")).hourly == pytest.approx(0.3412)


def test_the_newest_zone_mapping_wins(tmp_path: Path) -> None:
    catalog_dir = copy_catalogs(tmp_path / "v8")
    newer = catalog_dir / "aws" / "az_mappings-00000000.csv"
    newer.write_text("AvailabilityZoneName,AvailabilityZone\nus-east-2z,use2-az1\n")
    mapping = catalog_dir / "aws" / "az_mappings-5f1c9a2e.csv"
    older = newer.stat().st_mtime - 60
    os.utime(mapping, (older, older))
    book = PriceBook.from_config(PricingConfig(catalog_dir=catalog_dir))
    assert book.price(query(spot=True, zone="us-east-2z")).hourly == pytest.approx(0.3412)


def test_a_missing_catalog_leaves_that_cloud_unpriced(tmp_path: Path) -> None:
    write_catalog(tmp_path, "aws", "m6i.2xlarge,,,8.0,32.0,,0.384,0.13,us-west-2,us-west-2a")
    book = PriceBook.from_config(PricingConfig(catalog_dir=tmp_path, clouds=("aws", "GCP")))
    gcp = query(cloud="gcp", region="us-central1", instance_type="g2-standard-8")
    assert book.price(gcp).reason == "no_catalog"
    health = {item.cloud: item for item in book.health()}
    assert (health["gcp"].loaded, health["gcp"].load_error, health["gcp"].rows) == (False, "missing", 0)
    assert (health["aws"].loaded, health["aws"].rows) == (True, 1)


def test_every_catalog_found_is_loaded_by_default() -> None:
    assert [item.cloud for item in BOOK.health()] == ["aws", "azure", "gcp"]


def test_a_catalog_that_is_not_one_leaves_its_cloud_unpriced(tmp_path: Path) -> None:
    write_catalog(tmp_path, "aws", "<html>rate limited</html>", header="<!doctype html>")
    book = PriceBook.from_config(PricingConfig(catalog_dir=tmp_path))
    (health,) = book.health()
    assert not health.loaded
    assert "missing column" in health.load_error
    assert book.price(query()).reason == "no_catalog"


def test_malformed_rows_are_counted_in_health(tmp_path: Path) -> None:
    write_catalog(
        tmp_path,
        "aws",
        "g6.xlarge,L4,1.0,4.0,16.0,,0.8048,0.34,us-east-2,us-east-2a",
        "g6.xlarge,L4,1.0,4.0,16.0,,zero,0.34,us-east-2,us-east-2b",
        "g6.xlarge,L4,1.0,4.0,16.0,,0.8048",
    )
    book = PriceBook.from_config(PricingConfig(catalog_dir=tmp_path))
    (health,) = book.health()
    assert (health.rows, health.rows_skipped) == (1, 2)
    assert book.price(query(spot=True)).hourly == pytest.approx(0.34)


def test_a_missing_catalog_dir_prices_nothing_and_shows_the_expected_clouds_empty(tmp_path: Path) -> None:
    book = PriceBook.from_config(PricingConfig(catalog_dir=tmp_path / "absent"))
    assert [(h.cloud, h.rows, h.load_error) for h in book.health()] == [
        ("aws", 0, "missing"),
        ("azure", 0, "missing"),
        ("gcp", 0, "missing"),
    ]
    assert book.price(query()).reason == "no_catalog"
    assert not book.can_price()


def test_without_catalogs_the_pricing_collector_is_down_unless_rates_or_overrides_price(
    tmp_path: Path,
) -> None:
    catalog_dir = tmp_path / "catalogs"

    def run(section: dict[str, object]) -> Snapshot:
        collector = PricingCollector.from_config({"catalog_dir": str(catalog_dir), **section}, CONTEXT)
        return run_once(collector, lambda: 1_800_000_000.0, logging.getLogger("test.pricing"))

    bare = run({})
    assert (bare.ok, bare.error_kind) == (False, ErrorKind.UNAVAILABLE)
    assert str(catalog_dir) in (bare.error or "") and "unpriced" in (bare.error or "")
    assert run({"kubernetes": {"cpu": 0.03}}).ok, "Kubernetes rates still price pods"
    assert run({"overrides": [{"cloud": "aws", "hourly": 1.0}]}).ok, "overrides still price"
    copy_catalogs(catalog_dir)
    assert run({}).ok


def test_catalog_dir_expands_the_home_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    copy_catalogs(tmp_path / ".sky" / "catalogs" / "v8")
    book = PriceBook.from_config(PricingConfig())
    assert book.price(query()).hourly == pytest.approx(0.8048)

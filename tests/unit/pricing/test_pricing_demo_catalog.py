"""The simulator's demo catalogs price every machine the simulated fleet can run, as SkyPilot would."""

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from collectors.pricing import PriceBook, PriceQuery, PricingConfig
from simulator.catalog import LOCATIONS, SHAPES, Shape
from tests.unit.pricing.oracle import Case, ask_skypilot, install

DEMO_CATALOGS = Path(__file__).resolve().parents[3] / "simulator" / "data" / "catalogs" / "v8"
CATALOG_CLOUDS = ("AWS", "GCP", "Azure")


def _shapes() -> list[Shape]:
    unique = {shape: None for shapes in SHAPES.values() for shape in shapes if shape.cloud in CATALOG_CLOUDS}
    return list(unique)


def _cases() -> Iterator[Case]:
    """Every shape in every region of its cloud: each zone and no zone, spot and on demand."""
    for shape in _shapes():
        for location in (loc for loc in LOCATIONS if loc.cloud == shape.cloud):
            for zone in ("", *location.zones):
                for spot in (False, True):
                    yield _case(shape, location.region, zone, spot)


def _case(shape: Shape, region: str, zone: str, spot: bool) -> Case:
    cloud = shape.cloud.lower()
    assert shape.instance_type is not None
    count = float(shape.accelerator_count) if shape.accelerator else None
    query = PriceQuery(
        cloud=cloud,
        region=region,
        zone=zone,
        instance_type=shape.instance_type,
        accelerator=shape.accelerator or "",
        accelerators_per_node=count,
        cpus=shape.vcpus,
        memory_gib=shape.memory_gb,
        spot=spot,
        nodes=1,
    )
    infra = "/".join(part for part in (cloud, region, zone) if part)
    # SkyPilot infers AWS and Azure accelerators from the instance type; GCP's are attached.
    accelerators = (
        f"{shape.accelerator}:{shape.accelerator_count}" if cloud == "gcp" and shape.accelerator else None
    )
    name = f"{cloud} {shape.instance_type} {zone or region}{' spot' if spot else ''}"
    return Case(name, query, infra, shape.instance_type, accelerators)


CASES = tuple(_cases())
BOOK = PriceBook.from_config(PricingConfig(catalog_dir=DEMO_CATALOGS))


def test_the_demo_catalogs_load_cleanly() -> None:
    health = BOOK.health()
    assert [item.cloud for item in health] == ["aws", "azure", "gcp"]
    assert all(item.loaded and item.rows > 0 and item.rows_skipped == 0 for item in health), health


def test_every_simulated_machine_has_a_price() -> None:
    unpriced = [
        (case.name, BOOK.price(case.query).reason) for case in CASES if BOOK.price(case.query).hourly is None
    ]
    assert not unpriced


@pytest.mark.parametrize(
    ("cloud", "region", "instance_type", "accelerator", "hourly"),
    [
        ("aws", "us-east-2", "g6.xlarge", "L4", 0.8048),
        ("aws", "us-east-1", "p4d.24xlarge", "A100", 32.7726),
        ("gcp", "us-central1", "g2-standard-8", "L4", 0.29394 + 0.56004),
        ("azure", "eastus", "Standard_NC24ads_A100_v4", "A100-80GB", 3.673),
    ],
)
def test_list_prices_are_realistic(
    cloud: str, region: str, instance_type: str, accelerator: str, hourly: float
) -> None:
    query = PriceQuery(cloud, region, "", instance_type, accelerator, 1.0, None, None, False, 1)
    assert BOOK.price(query).hourly == pytest.approx(hourly)


def test_spot_is_cheaper_than_on_demand() -> None:
    for case in CASES:
        if case.query.spot:
            on_demand = BOOK.price(replace(case.query, spot=False)).hourly
            spot = BOOK.price(case.query).hourly
            assert spot is not None and on_demand is not None
            assert spot < on_demand, case.name


def test_skypilot_prices_the_demo_catalogs_the_same(tmp_path: Path) -> None:
    install(tmp_path, DEMO_CATALOGS)
    results = ask_skypilot(tmp_path, CASES)["results"]
    different = {
        case.name: (results[case.name], BOOK.price(case.query).hourly)
        for case in CASES
        if results[case.name].get("hourly") != pytest.approx(BOOK.price(case.query).hourly, rel=1e-12)
    }
    assert not different

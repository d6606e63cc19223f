"""Shared helpers for the price book tests: fixture catalogs and query builders."""

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from collectors.pricing import PriceBook, PriceQuery, PricingConfig

FIXTURES = Path(__file__).parent / "fixtures"
CATALOGS = FIXTURES / "catalogs" / "v8"
SKYPILOT_CONFIG = FIXTURES / "skypilot_config.yaml"

CATALOG_HEADER = ",".join(
    (
        "InstanceType",
        "AcceleratorName",
        "AcceleratorCount",
        "vCPUs",
        "MemoryGiB",
        "GpuInfo",
        "Price",
        "SpotPrice",
        "Region",
        "AvailabilityZone",
    )
)

_BASE = PriceQuery(
    cloud="aws",
    region="us-east-2",
    zone="",
    instance_type="g6.xlarge",
    accelerator="L4",
    accelerators_per_node=1.0,
    cpus=4.0,
    memory_gib=16.0,
    spot=False,
    nodes=1,
)


def query(**changes: Any) -> PriceQuery:
    """An AWS g6.xlarge in us-east-2 on demand, with ``changes`` applied."""
    return replace(_BASE, **changes)


def pod(region: str, accelerator: str = "", count: float | None = None, **changes: Any) -> PriceQuery:
    """A Kubernetes pod in the context SkyServe reports as ``region`` (``ssh-<pool>``: an SSH node pool)."""
    cloud = "ssh" if region.startswith("ssh-") else "kubernetes"
    fields: dict[str, Any] = {
        "cloud": cloud,
        "region": region,
        "instance_type": "",
        "accelerator": accelerator,
        "accelerators_per_node": count,
        **changes,
    }
    return query(**fields)


def copy_catalogs(target: Path) -> Path:
    """The fixture catalogs copied to ``target`` (a catalog_dir that tests may change)."""
    shutil.copytree(CATALOGS, target)
    return target


def fixture_book(**config: Any) -> PriceBook:
    return PriceBook.from_config(PricingConfig(catalog_dir=CATALOGS, **config))


def write_catalog(catalog_dir: Path, cloud: str, *rows: str, header: str = CATALOG_HEADER) -> Path:
    path = catalog_dir / cloud / "vms.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
    return path

"""Loading each cloud's ``<catalog_dir>/<cloud>/vms.csv`` into a ``CloudCatalog`` plus load facts."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from collectors.pricing.catalog import CloudCatalog, build_catalog
from collectors.pricing.catalog_csv import CatalogFormatError, ParsedCatalog, parse_catalog
from collectors.pricing.zones import aws_zone_names

logger = logging.getLogger(__name__)

CATALOG_FILE = "vms.csv"
# Clouds SkyPilot prices without a vms.csv: their prices come from kubernetes.pricing.
CATALOGLESS_CLOUDS = frozenset({"kubernetes", "ssh"})
# On GCP a GPU has its own catalog row, added to the host's price.
SEPARATE_ACCELERATOR_CLOUDS = frozenset({"gcp"})


@dataclass(frozen=True)
class LoadedCatalog:
    """One cloud's catalog as last loaded: the index (None when unusable) and what the load saw."""

    cloud: str
    path: Path
    catalog: CloudCatalog | None
    rows: int = 0
    rows_skipped: int = 0
    updated_at: float | None = None  # file mtime: when it was written, by SkyPilot or by a refresh
    error: str = ""


def catalog_path(catalog_dir: Path, cloud: str) -> Path:
    return catalog_dir / cloud / CATALOG_FILE


def discover_clouds(catalog_dir: Path) -> tuple[str, ...]:
    """Every cloud with a vms.csv under the catalog directory."""
    try:
        found = [entry.name for entry in catalog_dir.iterdir() if (entry / CATALOG_FILE).is_file()]
    except OSError as exc:
        logger.warning("no price catalogs: cannot list %s: %s", catalog_dir, exc)
        return ()
    return tuple(sorted(cloud.lower() for cloud in found if cloud.lower() not in CATALOGLESS_CLOUDS))


def load_catalogs(catalog_dir: Path, clouds: Iterable[str]) -> dict[str, LoadedCatalog]:
    return {cloud: load_catalog(catalog_dir, cloud) for cloud in clouds}


def load_catalog(catalog_dir: Path, cloud: str) -> LoadedCatalog:
    path = catalog_path(catalog_dir, cloud)
    failed = LoadedCatalog(cloud=cloud, path=path, catalog=None)
    try:
        updated_at = path.stat().st_mtime
        parsed = parse_catalog(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return replace(failed, error="missing")
    except (OSError, UnicodeDecodeError, CatalogFormatError) as exc:
        logger.warning("cannot use the %s price catalog %s: %s", cloud, path, exc)
        return replace(failed, error=str(exc))
    return catalog_from(cloud, path, parsed, updated_at)


def catalog_from(cloud: str, path: Path, parsed: ParsedCatalog, updated_at: float) -> LoadedCatalog:
    """Index parsed rows; AWS zone IDs become names when SkyPilot's zone mapping is present."""
    rows = parsed.rows
    if cloud == "aws":
        names = aws_zone_names(path.parent)
        if names:
            rows = tuple(replace(row, zone=names.get(row.zone, row.zone)) for row in rows)
    if parsed.skipped:
        logger.warning("%s price catalog %s: skipped %d malformed row(s)", cloud, path, parsed.skipped)
    return LoadedCatalog(
        cloud=cloud,
        path=path,
        catalog=build_catalog(rows, separate_accelerators=cloud in SEPARATE_ACCELERATOR_CLOUDS),
        rows=len(rows),
        rows_skipped=parsed.skipped,
        updated_at=updated_at,
    )

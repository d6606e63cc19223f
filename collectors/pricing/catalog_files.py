"""Reading SkyPilot's ``<catalog_dir>/<cloud>/vms.csv`` files into catalogs, with what each load saw.

A v8 ``vms.csv`` becomes typed rows, malformed ones skipped and counted. The columns are SkyPilot's
(``sky/catalog/data_fetchers``): AWS writes InstanceType, AcceleratorName, AcceleratorCount, vCPUs,
MemoryGiB, GpuInfo, Price, SpotPrice, Region, AvailabilityZone, Arch and local-disk columns; GCP
orders them differently; Azure has no AvailabilityZone but a Generation. Only the columns pricing
needs are read, by name. Empty cells mean "no value" as pandas reads them (SkyPilot loads catalogs
with ``pd.read_csv``), so the same NA spellings are recognised.

AWS zone IDs become zone names through the mapping SkyPilot stores next to the AWS catalog.
SkyPilot's hosted AWS catalog lists zones by ID (``use2-az1``) because the ID-to-name mapping
differs per account. When SkyPilot runs with AWS credentials it saves the account's mapping as
``aws/az_mappings-<user hash>.csv`` (columns AvailabilityZoneName, AvailabilityZone) and uses the
newest such file when credentials are absent (``sky/catalog/aws_catalog.py``); we do the same, so
zone names that SkyServe reports find their zone's spot price.
"""

import csv
import io
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from collectors.pricing.catalog import CatalogRow, CloudCatalog, build_catalog

logger = logging.getLogger(__name__)

CATALOG_FILE = "vms.csv"
# Clouds SkyPilot prices without a vms.csv: their prices come from kubernetes.pricing.
CATALOGLESS_CLOUDS = frozenset({"kubernetes", "ssh"})
# On GCP a GPU has its own catalog row, added to the host's price.
SEPARATE_ACCELERATOR_CLOUDS = frozenset({"gcp"})

REQUIRED_COLUMNS: Final = (
    "InstanceType",
    "AcceleratorName",
    "AcceleratorCount",
    "Price",
    "SpotPrice",
    "Region",
)
ZONE_COLUMN: Final = "AvailabilityZone"  # a zone ID on AWS, also in the zone mapping file
_ZONE_NAME_COLUMN: Final = "AvailabilityZoneName"  # the zone mapping file's name for the ID

# pandas.read_csv's default NA spellings: a cell holding one of these is empty to SkyPilot too.
_NA: Final = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)


class CatalogFormatError(ValueError):
    """The file cannot be a catalog at all (no header, or a required column is missing)."""


class _MalformedRow(ValueError):
    pass


@dataclass(frozen=True)
class ParsedCatalog:
    rows: tuple[CatalogRow, ...]
    skipped: int  # malformed rows left out


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


def aws_zone_names(cloud_dir: Path) -> Mapping[str, str]:
    """Zone ID -> zone name from the newest mapping file; empty when there is none or it is unreadable."""
    try:
        files = sorted(cloud_dir.glob("az_mappings-*.csv"), key=lambda path: path.stat().st_mtime)
        if not files:
            return {}
        with files[-1].open(encoding="utf-8-sig", newline="") as handle:
            return {
                row[ZONE_COLUMN]: row[_ZONE_NAME_COLUMN]
                for row in csv.DictReader(handle)
                if row.get(ZONE_COLUMN) and row.get(_ZONE_NAME_COLUMN)
            }
    except (OSError, csv.Error, KeyError) as exc:
        logger.warning("ignoring the AWS zone mapping in %s: %s", cloud_dir, exc)
        return {}


def parse_catalog(text: str) -> ParsedCatalog:
    """Every well-formed row of a catalog, and how many rows were malformed."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next(reader, None)
    if header is None:
        raise CatalogFormatError("the file is empty")
    index = _column_index(header)
    rows: list[CatalogRow] = []
    skipped = 0
    for cells in reader:
        if not cells:
            continue  # blank line, as pandas skips them
        try:
            rows.append(_row(cells, index, len(header)))
        except _MalformedRow:
            skipped += 1
    return ParsedCatalog(rows=tuple(rows), skipped=skipped)


def _column_index(header: list[str]) -> dict[str, int]:
    names = [name.strip() for name in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    if missing:
        raise CatalogFormatError(f"missing column(s) {', '.join(missing)} in header {','.join(names)!r}")
    wanted = (*REQUIRED_COLUMNS, ZONE_COLUMN)
    return {name: names.index(name) for name in wanted if name in names}


def _row(cells: list[str], index: dict[str, int], width: int) -> CatalogRow:
    if len(cells) != width:
        raise _MalformedRow(f"{len(cells)} cells, header has {width}")
    instance_type = _text(cells[index["InstanceType"]])
    accelerator = _text(cells[index["AcceleratorName"]])
    accelerator_count = _number(cells[index["AcceleratorCount"]])
    region = _text(cells[index["Region"]])
    if not region or not (instance_type or accelerator):
        raise _MalformedRow("a row needs a region and an instance type or accelerator")
    if not instance_type and accelerator_count is None:
        raise _MalformedRow("an accelerator row needs a count")
    zone_at = index.get(ZONE_COLUMN)
    return CatalogRow(
        instance_type=instance_type,
        accelerator=accelerator,
        accelerator_count=accelerator_count,
        price=_number(cells[index["Price"]]),
        spot_price=_number(cells[index["SpotPrice"]]),
        region=region,
        zone="" if zone_at is None else _text(cells[zone_at]),
    )


def _text(cell: str) -> str:
    value = cell.strip()
    return "" if value in _NA else value


def _number(cell: str) -> float | None:
    """A non-negative finite number, None for an empty cell; anything else makes the row malformed."""
    value = cell.strip()
    if value in _NA:
        return None
    if "_" in value:  # Python's float() accepts 1_000, pandas does not
        raise _MalformedRow(f"not a number: {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise _MalformedRow(f"not a number: {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise _MalformedRow(f"not a price or count: {value!r}")
    return number

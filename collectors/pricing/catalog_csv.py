"""Reading a SkyPilot v8 ``vms.csv`` into typed rows, skipping and counting malformed ones.

The columns are SkyPilot's (``sky/catalog/data_fetchers``): AWS writes InstanceType,
AcceleratorName, AcceleratorCount, vCPUs, MemoryGiB, GpuInfo, Price, SpotPrice, Region,
AvailabilityZone, Arch and local-disk columns; GCP orders them differently; Azure has no
AvailabilityZone but a Generation. Only the columns pricing needs are read, by name.

Empty cells mean "no value" as pandas reads them (SkyPilot loads catalogs with ``pd.read_csv``),
so the same NA spellings are recognised.
"""

import csv
import io
import math
from dataclasses import dataclass
from typing import Final

REQUIRED_COLUMNS: Final = (
    "InstanceType",
    "AcceleratorName",
    "AcceleratorCount",
    "Price",
    "SpotPrice",
    "Region",
)
ZONE_COLUMN: Final = "AvailabilityZone"

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


@dataclass(frozen=True, slots=True)
class CatalogRow:
    instance_type: str  # "" on GCP accelerator rows
    accelerator: str
    accelerator_count: float | None
    price: float | None
    spot_price: float | None
    region: str
    zone: str  # "" where the catalog has no zones (Azure)


@dataclass(frozen=True)
class ParsedCatalog:
    rows: tuple[CatalogRow, ...]
    skipped: int  # malformed rows left out


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

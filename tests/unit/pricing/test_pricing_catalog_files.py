import pytest

from collectors.pricing.catalog import CatalogRow
from collectors.pricing.catalog_files import CatalogFormatError, parse_catalog
from tests.unit.pricing.catalogs import CATALOG_HEADER, CATALOGS


def _parse(*rows: str, header: str = CATALOG_HEADER) -> tuple[tuple[CatalogRow, ...], int]:
    parsed = parse_catalog("\n".join((header, *rows)) + "\n")
    return parsed.rows, parsed.skipped


def test_reads_the_aws_layout_with_its_quoted_gpu_info() -> None:
    parsed = parse_catalog((CATALOGS / "aws" / "vms.csv").read_text())
    assert parsed.skipped == 0
    assert len(parsed.rows) == 11
    assert parsed.rows[2] == CatalogRow(
        instance_type="g6.xlarge",
        accelerator="L4",
        accelerator_count=1.0,
        price=0.8048,
        spot_price=0.33,
        region="us-east-1",
        zone="use1-az1",
    )


def test_reads_the_gcp_layout_with_accelerator_rows() -> None:
    parsed = parse_catalog((CATALOGS / "gcp" / "vms.csv").read_text())
    l4 = [row for row in parsed.rows if row.accelerator == "L4"]
    assert [(row.instance_type, row.accelerator_count, row.zone, row.spot_price) for row in l4] == [
        ("", 1.0, "us-central1-a", 0.2231),
        ("", 1.0, "us-central1-b", 0.2031),
        ("", 1.0, "us-central1-c", None),
    ]


def test_azure_has_no_zone_column() -> None:
    parsed = parse_catalog((CATALOGS / "azure" / "vms.csv").read_text())
    assert {row.zone for row in parsed.rows} == {""}
    assert parsed.rows[1].accelerator == "A100-80GB"


@pytest.mark.parametrize("cell", ["", "nan", "NaN", "NA", "null", "None", "N/A"])
def test_empty_cells_are_no_value_as_pandas_reads_them(cell: str) -> None:
    rows, skipped = _parse(f"m6i.2xlarge,,,8.0,32.0,,0.384,{cell},us-west-2,us-west-2a")
    assert skipped == 0
    assert rows[0].spot_price is None


@pytest.mark.parametrize(
    "row",
    [
        "m6i.2xlarge,,,8.0,32.0,,abc,0.13,us-west-2,us-west-2a",  # price not a number
        "m6i.2xlarge,,,8.0,32.0,,-0.384,0.13,us-west-2,us-west-2a",  # negative price
        "m6i.2xlarge,,,8.0,32.0,,inf,0.13,us-west-2,us-west-2a",  # not finite
        "m6i.2xlarge,,,8.0,32.0,,1_000,0.13,us-west-2,us-west-2a",  # float() would accept it
        "g6.xlarge,L4,one,4.0,16.0,,0.8048,0.3,us-east-2,us-east-2a",  # bad accelerator count
        "m6i.2xlarge,,,8.0,32.0,,0.384,0.13,us-west-2",  # a column short
        "m6i.2xlarge,,,8.0,32.0,,0.384,0.13,us-west-2,us-west-2a,extra",  # a column too many
        "m6i.2xlarge,,,8.0,32.0,,0.384,0.13,,us-west-2a",  # no region
        ",,,8.0,32.0,,0.384,0.13,us-west-2,us-west-2a",  # neither instance type nor accelerator
        ",L4,,,,,0.56,0.22,us-central1,us-central1-a",  # accelerator row without a count
    ],
)
def test_malformed_rows_are_skipped_and_counted(row: str) -> None:
    good = "m6i.2xlarge,,,8.0,32.0,,0.384,0.1323,us-west-2,us-west-2b"
    rows, skipped = _parse(good, row, good)
    assert skipped == 1
    assert len(rows) == 2


def test_blank_lines_are_not_malformed() -> None:
    rows, skipped = _parse("", "m6i.2xlarge,,,8.0,32.0,,0.384,0.13,us-west-2,us-west-2a", "")
    assert (len(rows), skipped) == (1, 0)


def test_a_byte_order_mark_does_not_hide_the_first_column() -> None:
    parsed = parse_catalog(
        "\ufeff" + CATALOG_HEADER + "\nm6i.2xlarge,,,8.0,32.0,,0.384,0.13,us-west-2,us-west-2a\n"
    )
    assert parsed.rows[0].instance_type == "m6i.2xlarge"


def test_a_header_without_a_price_column_is_not_a_catalog() -> None:
    with pytest.raises(CatalogFormatError, match="SpotPrice"):
        _parse(
            "m6i.2xlarge,0.384,us-west-2", header="InstanceType,AcceleratorName,AcceleratorCount,Price,Region"
        )


def test_an_empty_file_is_not_a_catalog() -> None:
    with pytest.raises(CatalogFormatError, match="empty"):
        parse_catalog("")

from pathlib import Path

import pytest

from tests.unit.pricing.catalogs import write_catalog

OLD_ROW = "g6.xlarge,L4,1.0,4.0,16.0,,0.8048,0.34,us-east-2,us-east-2a"


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    """A catalog directory holding an AWS catalog of one row, for a refresh to replace."""
    write_catalog(tmp_path, "aws", OLD_ROW)
    return tmp_path

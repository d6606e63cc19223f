"""Golden exposition of the pricing collector: the price book's own ``skyserve_pricing_*`` families.

Built from a copy of the fixture catalogs (``fixtures/README.md``) with fixed file times, one
malformed row added, one configured cloud without a catalog, and one failed refresh from a loopback
catalog server, so that every family holds a value worth checking. The rendered text exposition
must equal ``golden/pricing.prom`` byte for byte. When a change to the exposition is intended,
regenerate the file with::

    UPDATE_GOLDEN=1 PYTHONPATH=$PWD python -m pytest tests/unit/pricing/test_pricing_golden.py

and review the diff before committing it.
"""

import hashlib
import os
from pathlib import Path

from pytest_httpserver import HTTPServer

from collectors.pricing import PriceBook, PricingConfig
from collectors.pricing.collector import PricingCollector
from tests.unit.golden import assert_golden, exposition
from tests.unit.pricing.catalogs import copy_catalogs

GOLDEN = Path(__file__).parent / "golden" / "pricing.prom"
NOW = 1_795_830_000.0
# When each catalog file was last written: the catalog's age is NOW minus this.
WRITTEN_AT = {"aws": 1_795_743_600.0, "azure": 1_795_657_200.0, "gcp": 1_795_570_800.0}
# A GCP row whose price is not a number: skipped and counted, the rest of the catalog is used.
MALFORMED_GCP_ROW = "g2-standard-8,8.0,32.0,L4,1.0,,us-central1,us-central1-a,free,\n"


def _catalog_dir(target: Path) -> Path:
    catalog_dir = copy_catalogs(target)
    with (catalog_dir / "gcp" / "vms.csv").open("a", encoding="utf-8") as gcp:
        gcp.write(MALFORMED_GCP_ROW)
    # An md5 record that no longer matches: the Azure catalog was edited after its download, so a
    # refresh leaves it alone without counting a failure.
    meta = catalog_dir / ".meta" / "azure" / "vms.csv.md5"
    meta.parent.mkdir(parents=True)
    meta.write_text(hashlib.md5(b"the downloaded file", usedforsecurity=False).hexdigest())
    for cloud, written_at in WRITTEN_AT.items():
        os.utime(catalog_dir / cloud / "vms.csv", (written_at, written_at))
    return catalog_dir


def test_exposition_matches_the_golden_file(tmp_path: Path, server: HTTPServer) -> None:
    # The catalog server fails each download its own way; no catalog is replaced.
    server.expect_request("/v8/aws/vms.csv").respond_with_data("oops", status=500)
    server.expect_request("/v8/gcp/vms.csv").respond_with_data("<html>sign in</html>")
    server.expect_request("/v8/lambda/vms.csv").respond_with_data("404: Not Found", status=404)
    config = PricingConfig.model_validate(
        {
            "catalog_dir": _catalog_dir(tmp_path / "catalogs"),
            "clouds": ["aws", "azure", "gcp", "lambda"],  # lambda: configured, no catalog cached
            "refresh": "7h",
            "refresh_url": server.url_for("/v8"),
            "refresh_fallback_url": None,
            "refresh_timeout": "2s",
        }
    )
    collector = PricingCollector(PriceBook.from_config(config, clock=lambda: NOW), config)
    collector.fetch()
    build = collector.build(None, NOW)
    assert [request.path for request, _ in server.log] == [
        "/v8/aws/vms.csv",
        "/v8/gcp/vms.csv",
        "/v8/lambda/vms.csv",
    ]
    assert_golden(exposition(build.families), GOLDEN)

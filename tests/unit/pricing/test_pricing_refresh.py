"""Refreshing catalogs over real HTTP on loopback: success swaps prices in, failure keeps the old ones."""

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from collectors.pricing import PriceBook, PricingConfig
from tests.unit.pricing.catalogs import CATALOG_HEADER, query

NEW_CATALOG = f"{CATALOG_HEADER}\ng6.xlarge,L4,1.0,4.0,16.0,,0.9000,0.25,us-east-2,us-east-2a\n"
CLOSED_PORT_URL = "http://127.0.0.1:9/catalogs/v8"


def _book(catalog_dir: Path, httpserver: HTTPServer, **config: Any) -> PriceBook:
    settings: dict[str, Any] = {
        "catalog_dir": catalog_dir,
        "refresh": "7h",
        "refresh_url": httpserver.url_for("/catalogs/v8"),
        "refresh_fallback_url": httpserver.url_for("/mirror/v8"),
        "refresh_timeout": "2s",
        **config,
    }
    return PriceBook.from_config(PricingConfig.model_validate(settings), clock=lambda: 1_800_000_000.0)


def test_a_refresh_swaps_in_the_new_prices(catalog_dir: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/catalogs/v8/aws/vms.csv").respond_with_data(NEW_CATALOG)
    book = _book(catalog_dir, httpserver)
    assert book.price(query()).hourly == pytest.approx(0.8048)
    book.refresh()
    httpserver.check_assertions()
    assert book.price(query()).hourly == pytest.approx(0.9)
    path = catalog_dir / "aws" / "vms.csv"
    assert path.read_text() == NEW_CATALOG
    # The md5 record SkyPilot keeps for downloaded catalogs, so it does not see a local edit.
    recorded = (catalog_dir / ".meta" / "aws" / "vms.csv.md5").read_text()
    assert recorded == hashlib.md5(NEW_CATALOG.encode(), usedforsecurity=False).hexdigest()
    (health,) = book.health()
    assert (health.rows, health.refresh_failures, health.last_refresh_error) == (1, 0, "")
    assert (health.updated_at, health.last_refresh_at) == (path.stat().st_mtime, 1_800_000_000.0)
    assert not list(path.parent.glob(".vms.csv.*")), "no temporary file is left behind"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, "oops", "HTTP 500"),
        (404, "404: Not Found", "HTTP 404"),
        (200, "<html><body>sign in</body></html>", "not a catalog: missing column"),
        (200, f"{CATALOG_HEADER}\n", "not a catalog: no usable rows"),
        (200, f"{CATALOG_HEADER}\ng6.xlarge,L4,1.0,4.0,16.0,,free,,us-east-2,us-east-2a\n", "no usable rows"),
    ],
)
def test_a_failed_refresh_keeps_the_cached_catalog(
    catalog_dir: Path, httpserver: HTTPServer, status: int, body: str, error: str
) -> None:
    httpserver.expect_request("/catalogs/v8/aws/vms.csv").respond_with_data(body, status=status)
    before = (catalog_dir / "aws" / "vms.csv").read_text()
    book = _book(catalog_dir, httpserver)
    book.refresh()
    book.refresh()
    assert book.price(query()).hourly == pytest.approx(0.8048)
    assert (catalog_dir / "aws" / "vms.csv").read_text() == before
    (health,) = book.health()
    assert (health.loaded, health.rows, health.refresh_failures) == (True, 1, 2)
    assert health.last_refresh_error.startswith(error) or error in health.last_refresh_error
    families = {family.name: family for family in book.metric_families(now=0.0)}
    failures = families["skyserve_pricing_refresh_failures"].samples[0]
    assert (failures.name, failures.labels, failures.value) == (
        "skyserve_pricing_refresh_failures_total",
        {"cloud": "aws"},
        2,
    )


def test_an_unreachable_server_is_a_counted_failure(catalog_dir: Path, httpserver: HTTPServer) -> None:
    book = _book(catalog_dir, httpserver, refresh_url=CLOSED_PORT_URL, refresh_fallback_url=None)
    book.refresh()
    (health,) = book.health()
    assert health.refresh_failures == 1
    assert health.last_refresh_error == "request failed (ConnectionError)"
    assert book.price(query()).hourly == pytest.approx(0.8048)


def test_a_slow_server_times_out(catalog_dir: Path, httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response(NEW_CATALOG)

    httpserver.expect_request("/catalogs/v8/aws/vms.csv").respond_with_handler(slow)
    book = _book(catalog_dir, httpserver, refresh_timeout="200ms")
    book.refresh()
    (health,) = book.health()
    assert (health.refresh_failures, health.last_refresh_error) == (1, "timed out after 0.2s")
    assert book.price(query()).hourly == pytest.approx(0.8048)


def test_rate_limited_downloads_use_the_mirror(catalog_dir: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/catalogs/v8/aws/vms.csv").respond_with_data("slow down", status=429)
    httpserver.expect_request("/mirror/v8/aws/vms.csv").respond_with_data(NEW_CATALOG)
    book = _book(catalog_dir, httpserver)
    book.refresh()
    assert book.price(query()).hourly == pytest.approx(0.9)


def test_a_catalog_edited_after_its_download_is_left_alone(catalog_dir: Path, httpserver: HTTPServer) -> None:
    meta = catalog_dir / ".meta" / "aws" / "vms.csv.md5"
    meta.parent.mkdir(parents=True)
    meta.write_text(hashlib.md5(b"what SkyPilot downloaded", usedforsecurity=False).hexdigest())
    book = _book(catalog_dir, httpserver)
    book.refresh()
    assert httpserver.log == []
    (health,) = book.health()
    assert (health.refresh_failures, health.last_refresh_error) == (0, "locally_modified")
    assert book.price(query()).hourly == pytest.approx(0.8048)


def test_a_downloaded_catalog_refreshes_again(catalog_dir: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/catalogs/v8/aws/vms.csv").respond_with_data(NEW_CATALOG)
    book = _book(catalog_dir, httpserver)
    book.refresh()
    book.refresh()
    assert len(httpserver.log) == 2
    assert book.health()[0].refresh_failures == 0


def test_without_catalogs_refresh_fetches_the_big_three(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/catalogs/v8/aws/vms.csv").respond_with_data(NEW_CATALOG)
    httpserver.expect_request("/catalogs/v8/gcp/vms.csv").respond_with_data("nope", status=503)
    azure = f"{CATALOG_HEADER}\nStandard_D8s_v5,,,8.0,32.0,,0.384,0.0768,eastus,\n"
    httpserver.expect_request("/catalogs/v8/azure/vms.csv").respond_with_data(azure)
    book = _book(tmp_path / "v8", httpserver)
    assert book.price(query()).reason == "no_catalog"
    book.refresh()
    assert book.price(query()).hourly == pytest.approx(0.9)
    azure_query = query(cloud="azure", region="eastus", instance_type="Standard_D8s_v5")
    assert book.price(azure_query).hourly == pytest.approx(0.384)
    health = {item.cloud: item for item in book.health()}
    assert sorted(health) == ["aws", "azure", "gcp"]
    assert (health["gcp"].loaded, health["gcp"].refresh_failures, health["gcp"].last_refresh_error) == (
        False,
        1,
        "HTTP 503",
    )


def test_configured_clouds_are_what_refresh_fetches(catalog_dir: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/catalogs/v8/aws/vms.csv").respond_with_data(NEW_CATALOG)
    book = _book(catalog_dir, httpserver, clouds=["aws", "kubernetes"])
    book.refresh()
    assert [entry[0].path for entry in httpserver.log] == ["/catalogs/v8/aws/vms.csv"]


def test_queries_see_old_or_new_prices_during_a_refresh(catalog_dir: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/catalogs/v8/aws/vms.csv").respond_with_data(NEW_CATALOG)
    book = _book(catalog_dir, httpserver)
    seen: set[float | None] = set()
    done = threading.Event()

    def ask() -> None:
        while not done.is_set():
            seen.add(book.price(query()).hourly)

    reader = threading.Thread(target=ask)
    reader.start()
    try:
        for _ in range(5):
            book.refresh()
    finally:
        done.set()
        reader.join(timeout=10)
    assert seen <= {0.8048, 0.9}  # parsed from the same text, so exactly equal
    assert book.price(query()).hourly == pytest.approx(0.9)

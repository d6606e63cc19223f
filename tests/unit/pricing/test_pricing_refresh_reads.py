"""Catalog downloads bounded in size and in total time, over real HTTP on loopback.

A download past ``pricing.body_size_limit`` or still trickling in at ``refresh_timeout`` is a
counted refresh failure that keeps the cached catalog, like any other.
"""

import gzip
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from collectors.pricing import PriceBook, PricingConfig
from exporter.upstream import DEFAULT_BODY_SIZE_LIMIT
from tests.unit.pricing.catalogs import CATALOG_HEADER, query

NEW_ROW = "g6.xlarge,L4,1.0,4.0,16.0,,0.9000,0.25,us-east-2,us-east-2a"
CATALOG_PATH = "/catalogs/v8/aws/vms.csv"


def _book(catalog_dir: Path, server: HTTPServer, **config: Any) -> PriceBook:
    settings: dict[str, Any] = {
        "catalog_dir": catalog_dir,
        "refresh": "7h",
        "refresh_url": server.url_for("/catalogs/v8"),
        "refresh_fallback_url": None,
        "refresh_timeout": "2s",
        **config,
    }
    return PriceBook.from_config(PricingConfig.model_validate(settings), clock=lambda: 1_800_000_000.0)


def _catalog(rows: int) -> str:
    return CATALOG_HEADER + "\n" + "\n".join([NEW_ROW] * rows) + "\n"


def _failed_with(book: PriceBook) -> str:
    """The refresh error, after checking that the cached prices were kept."""
    assert book.price(query()).hourly == pytest.approx(0.8048)
    (health,) = book.health()
    assert health.refresh_failures == 1
    return health.last_refresh_error


def test_body_size_limit_defaults_to_the_collectors_and_parses_sizes() -> None:
    assert PricingConfig().body_size_limit == DEFAULT_BODY_SIZE_LIMIT
    assert PricingConfig.model_validate({"body_size_limit": "64MiB"}).body_size_limit == 64 * 2**20


def test_a_catalog_within_the_cap_is_swapped_in(catalog_dir: Path, server: HTTPServer) -> None:
    server.expect_request(CATALOG_PATH).respond_with_data(_catalog(50))
    book = _book(catalog_dir, server, body_size_limit="64KiB")
    book.refresh()
    assert book.price(query()).hourly == pytest.approx(0.9)


def test_a_catalog_past_body_size_limit_is_a_failed_refresh(catalog_dir: Path, server: HTTPServer) -> None:
    server.expect_request(CATALOG_PATH).respond_with_data(_catalog(50))
    book = _book(catalog_dir, server, body_size_limit="1KiB")
    book.refresh()
    assert "body_size_limit (1KiB)" in _failed_with(book)


def test_a_compressed_catalog_is_capped_after_decompression(catalog_dir: Path, server: HTTPServer) -> None:
    bomb = gzip.compress(_catalog(200_000).encode(), compresslevel=9)  # about 11 MiB as text
    assert len(bomb) < 2**20
    server.expect_request(CATALOG_PATH).respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    book = _book(catalog_dir, server, body_size_limit="1MiB")
    book.refresh()
    assert "body_size_limit (1MiB)" in _failed_with(book)


def test_a_trickling_download_ends_at_the_refresh_timeout(catalog_dir: Path, server: HTTPServer) -> None:
    def trickle(_: Request) -> Response:
        def rows() -> Iterator[bytes]:
            yield f"{CATALOG_HEADER}\n".encode()
            for _ in range(30):
                time.sleep(1.0)
                yield b" "

        return Response(rows(), content_type="text/csv")

    server.expect_request(CATALOG_PATH).respond_with_handler(trickle)
    book = _book(catalog_dir, server)
    started = time.monotonic()
    book.refresh()
    # 30 bytes at one a second would take 30 s; refresh_timeout is 2 s.
    assert time.monotonic() - started < 2.0 + 3.0
    assert "timeout" in _failed_with(book)

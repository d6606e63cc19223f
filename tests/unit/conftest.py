"""Fixtures shared by unit tests of several areas."""

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer


@pytest.fixture(scope="module")
def threaded_server() -> Iterator[HTTPServer]:
    # Threaded, so that a trickling answer still being written cannot hold up the next test.
    running = HTTPServer(threaded=True)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def server(threaded_server: HTTPServer) -> Iterator[HTTPServer]:
    """A loopback API server shared by a module's tests, its handlers cleared after each."""
    yield threaded_server
    threaded_server.clear()

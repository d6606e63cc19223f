"""A health check never reads the node's answer body: an enormous or trickling one costs nothing.

Only the status decides a check, so the body is left unread and the connection closed; these
guard that no change starts reading it (unbounded) without a cap and the check's timeout.
"""

import time
from collections.abc import Iterator

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from collectors.baremetal.checks import Checker, Outcome
from collectors.baremetal.nodes import Target

TIMEOUT = 2.0


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    # Threaded, so that a body still being written cannot hold up the next check.
    running = HTTPServer(threaded=True)
    running.start()
    yield running
    running.stop()


def _check(server: HTTPServer, path: str) -> tuple[Outcome, str, float]:
    target = Target(server.host, server.port, path)
    started = time.monotonic()
    result = Checker(TIMEOUT, 4, requests.Session).check(target)
    return result.outcome, result.detail, time.monotonic() - started


def test_an_enormous_body_is_never_read(server: HTTPServer) -> None:
    def endless(_: Request) -> Response:
        # 8 GiB in 1 MiB pieces, its length not announced (chunked): reading it would take minutes.
        return Response((b"x" * 2**20 for _ in range(8192)), mimetype="text/plain")

    server.expect_request("/endless").respond_with_handler(endless)
    outcome, detail, seconds = _check(server, "/endless")
    assert (outcome, detail) == (Outcome.OK, "HTTP 200")
    assert seconds < TIMEOUT


def test_a_trickling_body_does_not_hold_the_check(server: HTTPServer) -> None:
    def trickle(_: Request) -> Response:
        def bytes_slowly() -> Iterator[bytes]:
            for _ in range(30):
                yield b"x"
                time.sleep(1.0)

        return Response(bytes_slowly(), status=503, mimetype="text/plain")

    server.expect_request("/trickle").respond_with_handler(trickle)
    outcome, detail, seconds = _check(server, "/trickle")
    assert (outcome, detail) == (Outcome.FAILED, "HTTP 503")
    # 30 bytes at one a second would take 30 s; the check's timeout is 2 s.
    assert seconds < TIMEOUT + 3.0

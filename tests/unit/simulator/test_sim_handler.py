"""The simulator's servers answer a request without allocating werkzeug's 10 MB drain buffer."""

import io
import socket
import tracemalloc
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import yaml

from simulator import Simulator
from simulator.handler import MAX_READ_BYTES, CappedReader

# Far below the 10 MB werkzeug asks for when it drains a request, far above a request's needs.
PEAK_LIMIT_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(services=1, replicas_per_service=1, seed=1, baremetal_nodes=1) as running:
        yield running


def _request_then_eof(url: str) -> bytes:
    """One request from a client that closes its side at once, as probes and checks do."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    with socket.create_connection((host, port), timeout=5) as sock:
        request = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode())
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _peak_while(calls: list[str]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for url in calls:
            assert _request_then_eof(url).startswith(b"HTTP/1.")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_api_and_data_plane_requests_stay_small(sim: Simulator) -> None:
    calls = [f"{sim.url}/api/health", f"{sim.data_plane_url}/services/none/health"] * 3
    assert _peak_while(calls) < PEAK_LIMIT_BYTES


def test_bare_metal_node_requests_stay_small(sim: Simulator) -> None:
    inventory = sim.baremetal_inventory_path
    assert inventory is not None
    health_url = yaml.safe_load(inventory.read_text())["nodes"][0]["health_url"]
    calls = [health_url] * 3
    assert _peak_while(calls) < PEAK_LIMIT_BYTES


def test_capped_reader_reads_everything_in_bounded_pieces() -> None:
    data = bytes(range(256)) * 1_000
    reader = CappedReader(io.BytesIO(data))
    pieces = []
    while piece := reader.read(10_000_000):
        assert len(piece) <= MAX_READ_BYTES
        pieces.append(piece)
    assert b"".join(pieces) == data
    assert reader.read(10) == b""

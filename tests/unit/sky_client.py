"""SkyPilot's own client (the SDK, and the CLI's functions) pointed at a simulator.

The oracle for the simulator's wire format and for the exporter's reading of it: what the official
client makes of an answer is what a real server's answer would have to give. Nothing here reaches
beyond loopback: usage collection is off and ``HOME`` is a temporary directory.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sky.server import common as server_common


@contextmanager
def pointed_at(url: str, home: Path) -> Iterator[None]:
    """Make the SDK talk to ``url`` while inside; the endpoint is cached process-wide, so cleared."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKYPILOT_API_SERVER_ENDPOINT", url)
        patch.setenv("SKYPILOT_DISABLE_USAGE_COLLECTION", "1")
        patch.setenv("HOME", str(home))
        server_common.get_server_url.cache_clear()
        try:
            yield
        finally:
            server_common.get_server_url.cache_clear()

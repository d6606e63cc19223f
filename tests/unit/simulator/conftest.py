from collections.abc import Iterator

import pytest

from simulator import Simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    """One simulator per module; modules that need another fleet or a fresh one define their own."""
    with Simulator(services=3, replicas_per_service=4, seed=1) as running:
        yield running

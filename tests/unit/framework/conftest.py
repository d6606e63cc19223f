import pytest

from tests.unit.framework.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()

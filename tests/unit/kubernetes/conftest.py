import pytest

from collectors.pricing import PriceBook
from tests.unit.kubernetes.fixtures import price_book


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return price_book()

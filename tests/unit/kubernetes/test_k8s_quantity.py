"""Quantities parse as the official client's own parser reads them (it is the oracle)."""

from typing import Any

import pytest
from kubernetes.utils import parse_quantity as oracle

from collectors.kubernetes.quantity import parse_quantity

VALID = [
    "4",
    "500m",
    "0.5",
    "16Gi",
    "1536Mi",
    "713031680Ki",
    "1e3",
    "2E2",
    "1.5k",
    "100M",
    "1G",
    "3Ti",
    "250n",
    "7u",
    "1E",
    ".5",
    "+2",
    "0",
]


@pytest.mark.parametrize("text", VALID)
def test_matches_the_official_client(text: str) -> None:
    assert parse_quantity(text) == pytest.approx(float(oracle(text)))  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("value", ["", "abc", "1Q", "Gi", "1..2", None, True, [], {"a": 1}, float("inf")])
def test_anything_else_is_none(value: Any) -> None:
    assert parse_quantity(value) is None


def test_numbers_pass_through() -> None:
    assert parse_quantity(8) == 8.0
    assert parse_quantity(0.25) == 0.25

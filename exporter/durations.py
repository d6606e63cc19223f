"""Durations written as Prometheus-style strings (``30s``, ``5m``, ``1h30m``, ``250ms``)."""

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, ValidationInfo

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


# The key of the validation context under which a number without a unit is refused: set for what
# an operator wrote in a config file. Code building a model directly may pass seconds as a number.
WRITTEN = "written"


def parse_duration(value: object) -> float:
    """Seconds for a duration string; numbers are seconds. Raises ValueError with the reason."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as '30s', got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_text(value.strip())
    else:
        raise ValueError(f"expected a duration such as '30s', got {type(value).__name__}")
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {value!r}")
    return seconds


def _parse_text(text: str) -> float:
    parts = _PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r}: use a number and a unit (ms, s, m, h, d), e.g. '30s'")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def format_duration(seconds: float) -> str:
    if seconds >= 1 and float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def _validate(value: object, info: ValidationInfo) -> float:
    written = isinstance(info.context, Mapping) and info.context.get(WRITTEN) is True
    if written and isinstance(value, int | float) and not isinstance(value, bool):
        # As in Prometheus: `interval: 30` might mean seconds or minutes; say which.
        raise ValueError(f"a duration needs a unit: write '{value:g}s' for {value:g} seconds")
    return parse_duration(value)


Duration = Annotated[float, BeforeValidator(_validate), PlainSerializer(format_duration)]
"""A config field holding seconds, written in the file as ``30s`` or ``5m``."""

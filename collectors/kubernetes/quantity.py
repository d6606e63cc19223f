"""Kubernetes resource quantities (``500m``, ``16Gi``, ``1e3``) as floats.

The grammar is apimachinery's ``resource.Quantity``: a signed decimal number, then a binary suffix
(``Ki`` .. ``Ei``), a decimal suffix (``n u m k M G T P E``) or a decimal exponent (``e3``). The
official client's ``kubernetes.utils.parse_quantity`` does the same with ``Decimal``; this version
returns a float and None instead of raising, since a collection reads thousands of them and a bad
one only makes a record unpriceable.
"""

import math
import re
from typing import Any, Final

_QUANTITY: Final = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?")
_BINARY: Final = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL: Final = {
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
}
GIB: Final = float(2**30)


def parse_quantity(value: Any) -> float | None:
    """The quantity's value in base units (cores, bytes, devices); None when it is not a quantity."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    match = _QUANTITY.fullmatch(value.strip())
    if match is None:
        return None
    number, suffix = float(match.group(1)), match.group(2)
    if suffix is None:
        return number
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    return number * 10.0 ** int(suffix[1:])

"""Bodies for the hostile ``/api/get`` faults: trickled, huge, deeply nested, not encodable.

Each is built from the answer the API server would have given, so a client that survives the
fault still sees the real fleet; only the size, pace or one name is hostile.
"""

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

# One byte a second, as the slow upstream, when the fault is set without a delay.
TRICKLE_DEFAULT_INTERVAL = 1.0
# A trickle gives up pacing (and sends the rest at once) after this long, as a hang does.
TRICKLE_CAP_SECONDS = 120.0
HUGE_BODY_BYTES = 200 * 10**6
DEEP_NESTING = 100_000
# Written into the JSON as the six characters ``\ud800``: valid JSON, but no valid UTF-8 once decoded.
LONE_SURROGATE_NAME = "lone-\ud800"

_FILLER_CHUNK = b"x" * 2**20
_PLACEHOLDER = "\x00return_value\x00"


def trickle(
    body: bytes, interval: float, released: threading.Event, cap_seconds: float = TRICKLE_CAP_SECONDS
) -> Iterator[bytes]:
    """``body`` a byte every ``interval`` seconds; the rest at once when ``released`` or past the cap.

    The first byte goes out at once so the status line and headers do: a client's connect and
    first-read timeouts pass, and only a deadline on the whole answer can stop the wait.
    """
    give_up = time.monotonic() + cap_seconds
    for at in range(len(body)):
        yield body[at : at + 1]
        left = give_up - time.monotonic()
        if left <= 0 or released.wait(min(interval, left)) or time.monotonic() >= give_up:
            rest = body[at + 1 :]
            if rest:
                yield rest
            return


def huge_json(payload: dict[str, Any], size: int) -> Iterator[bytes]:
    """``payload`` as JSON grown to about ``size`` bytes, in 1 MiB pieces, never held whole.

    The growth is a ``filler`` key on the last service of ``return_value`` (itself a JSON text):
    the answer stays a valid fleet, and one long string rather than thousands of services means an
    exporter that reads it whole anyway wastes memory but not minutes of CPU.
    """
    services_text = payload["return_value"]
    if services_text.endswith("}]"):
        head, tail = services_text[:-2] + ', "filler": "', '"}]'
    else:
        head, tail = '[{"filler": "', '"}]'
    outer = json.dumps({**payload, "return_value": _PLACEHOLDER})
    before, after = outer.split(json.dumps(_PLACEHOLDER))
    # json.dumps(text)[1:-1] is text escaped for a JSON string, without its quotes.
    start = (before + '"' + json.dumps(head)[1:-1]).encode()
    end = (json.dumps(tail)[1:-1] + '"' + after).encode()
    yield start
    filler = max(0, size - len(start) - len(end))
    while filler > 0:
        piece = _FILLER_CHUNK if filler >= len(_FILLER_CHUNK) else _FILLER_CHUNK[:filler]
        filler -= len(piece)
        yield piece
    yield end


def deep_json(depth: int = DEEP_NESTING) -> bytes:
    """``depth`` nested arrays: valid JSON that a recursive decoder cannot follow."""
    return b"[" * depth + b"]" * depth


def with_lone_surrogate(return_value: str) -> str:
    """The services' JSON with the first one renamed to ``LONE_SURROGATE_NAME``.

    ``json.dumps`` escapes the surrogate as ``\\ud800`` (ASCII output), which is exactly what a
    hostile or buggy server can send; the API server's answer escapes that backslash again, since
    ``return_value`` is a JSON string inside the JSON payload.
    """
    services = json.loads(return_value)
    if services:
        services[0]["name"] = LONE_SURROGATE_NAME
    return json.dumps(services)

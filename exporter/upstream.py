"""Reading an upstream's answer defensively: bounded in total time and in size, decoded safely.

``requests`` bounds each socket read, not the whole answer: a server that trickles a byte a second
never trips a read timeout. So bodies are read in pieces, each piece as soon as it arrives, with the
caller's deadline checked between pieces and the size counted against a cap. JSON that nests
deeper than the decoder can follow, or that is not valid UTF-8, is a ``parse`` failure with a
one-line message, not a crash with a traceback.
"""

import json
import re
import socket
from typing import Annotated, Any

import requests
from pydantic import BeforeValidator, PlainSerializer
from urllib3 import BaseHTTPResponse
from urllib3.exceptions import DecodeError, HTTPError, ReadTimeoutError

from exporter.deadline import Deadline
from exporter.errors import UpstreamParseError, UpstreamTimeout, UpstreamUnavailable

_CHUNK_BYTES = 256 * 1024
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")
# Room for the SkyServe answer of a fleet of 200,000 replicas (sizes: README, "On a hostile network").
DEFAULT_BODY_SIZE_LIMIT = 256 * 2**20


def parse_size(value: object) -> int:
    """Bytes for a size such as ``256MiB``, ``10MB`` or a bare byte count; ValueError with the reason."""
    if isinstance(value, bool):
        raise ValueError(f"expected a size such as '64MiB', got {value!r}")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        match = _SIZE.fullmatch(value.strip().lower())
        if match is None or match.group(2) not in _UNITS:
            raise ValueError(f"invalid size {value!r}: use a number and a unit (KB, MB, GB, KiB, MiB, GiB)")
        size = int(float(match.group(1)) * _UNITS[match.group(2)])
    else:
        raise ValueError(f"expected a size such as '64MiB', got {type(value).__name__}")
    if size <= 0:
        raise ValueError(f"size must be positive, got {value!r}")
    return size


def format_size(size: int) -> str:
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


ByteSize = Annotated[int, BeforeValidator(parse_size), PlainSerializer(format_size)]
"""A config field holding bytes, written in the file as ``64MiB`` or ``10MB``."""


def read_body(
    response: requests.Response | BaseHTTPResponse, deadline: Deadline, limit: int, what: str
) -> bytearray:
    """The whole body of a response, within ``deadline`` and ``limit``.

    ``response`` is a ``requests`` response made with ``stream=True`` or a urllib3 one made with
    ``preload_content=False`` (the kubernetes client's). Raises UpstreamTimeout when the deadline
    passes mid-body, UpstreamParseError past ``limit`` (after decoding any Content-Encoding, so a
    compressed bomb is caught too) or when that encoding is corrupt, and UpstreamUnavailable when
    the connection breaks. The response is closed in every case.
    """
    raw = response.raw if isinstance(response, requests.Response) else response
    try:
        declared = raw.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit and "Content-Encoding" not in raw.headers:
            raise _too_large(what, limit)
        # One growing buffer: a list of pieces joined at the end would hold the answer twice.
        body = bytearray()
        while True:
            _bound_next_read(raw, deadline.remaining())
            piece = raw.read1(_CHUNK_BYTES, decode_content=True)
            if not piece:
                break
            if len(body) + len(piece) > limit:
                raise _too_large(what, limit)
            body += piece
        return body
    except (UpstreamTimeout, ReadTimeoutError):
        raise UpstreamTimeout(f"{what}: the answer did not arrive in full within the timeout") from None
    except DecodeError:
        raise UpstreamParseError(f"{what}: the answer's Content-Encoding cannot be decoded") from None
    except (requests.RequestException, HTTPError, OSError, ValueError) as exc:
        # urllib3 reports a broken connection as ProtocolError; none carries anything secret, but
        # the type name is all a reader needs.
        raise UpstreamUnavailable(f"{what}: the answer broke off ({type(exc).__name__})") from None
    finally:
        response.close()


def _bound_next_read(raw: BaseHTTPResponse, remaining: float) -> None:
    # The socket timeout was set once, from the budget left when the request was sent; without
    # this, a piece arriving just before each read timeout could stretch the body to about twice
    # the budget. Neither urllib3 nor http.client offers a public way to reach the socket the body
    # is read from (http.client's buffered SocketIO), so this is best effort: without one (a test
    # double, a body already read) the read keeps the timeout it has.
    buffered = getattr(getattr(raw, "_fp", None), "fp", None)
    sock = getattr(getattr(buffered, "raw", None), "_sock", None)
    if isinstance(sock, socket.socket):
        sock.settimeout(remaining)


def _too_large(what: str, limit: int) -> UpstreamParseError:
    return UpstreamParseError(f"{what}: the answer is larger than body_size_limit ({format_size(limit)})")


def loads_json(data: bytes | bytearray | str, what: str) -> Any:
    """JSON decoded, or UpstreamParseError naming what was wrong: bad syntax, bad UTF-8, too deep."""
    try:
        return json.loads(data)
    except RecursionError:
        raise UpstreamParseError(f"{what}: JSON nested too deeply to decode") from None
    except UnicodeDecodeError:
        raise UpstreamParseError(f"{what}: the answer is not valid UTF-8") from None
    except ValueError as exc:
        # JSONDecodeError's message is position and reason only; it never quotes the document.
        raise UpstreamParseError(f"{what}: not valid JSON ({exc})") from None


def encodable(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8: JSON lets a lone surrogate (``\\ud800``) through."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

"""Exposition bytes, rendered once per snapshot with prometheus_client's own encoders.

A scrape only joins these bytes. Both formats are rendered at collection time because Prometheus
asks for OpenMetrics by default while people and older scrapers ask for text; gzip variants are
made here too, and gzip members concatenate into one valid stream, so a scrape never compresses
the fleet.
"""

import gzip
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.exposition import generate_latest as generate_text
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as CONTENT_TYPE_OPENMETRICS
from prometheus_client.openmetrics.exposition import generate_latest as _generate_openmetrics

_OPENMETRICS_EOF = b"# EOF\n"
# Fast, and exposition text is repetitive enough that level 1 already shrinks it about tenfold.
_GZIP_LEVEL = 1


class Format(Enum):
    TEXT = CONTENT_TYPE_PLAIN_0_0_4
    OPENMETRICS = CONTENT_TYPE_OPENMETRICS

    @property
    def content_type(self) -> str:
        return str(self.value)


class _Families:
    """The tiny ``collect()`` object prometheus_client's encoders take instead of a registry."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> list[Metric]:
        return self._families


@dataclass(frozen=True)
class Rendered:
    """One snapshot's families as exposition bytes; OpenMetrics without its ``# EOF`` trailer."""

    text: bytes
    openmetrics: bytes
    text_gzip: bytes
    openmetrics_gzip: bytes

    def body(self, fmt: Format, gzipped: bool) -> bytes:
        if fmt is Format.OPENMETRICS:
            return self.openmetrics_gzip if gzipped else self.openmetrics
        return self.text_gzip if gzipped else self.text


def generate_openmetrics(source: object) -> bytes:
    """prometheus_client's OpenMetrics encoder, which is not type-annotated upstream."""
    return _generate_openmetrics(source)  # type: ignore[no-untyped-call,no-any-return]


def render(families: Sequence[Metric]) -> Rendered:
    source = _Families(families)
    text = generate_text(source)
    openmetrics = generate_openmetrics(source).removesuffix(_OPENMETRICS_EOF)
    return Rendered(
        text=text,
        openmetrics=openmetrics,
        text_gzip=compress(text),
        openmetrics_gzip=compress(openmetrics),
    )


def compress(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=_GZIP_LEVEL, mtime=0)


def trailer(fmt: Format) -> bytes:
    """What must close a joined exposition: OpenMetrics ends with exactly one ``# EOF``."""
    return _OPENMETRICS_EOF if fmt is Format.OPENMETRICS else b""


def negotiate(accept_header: str | None) -> Format:
    for accepted in (accept_header or "").split(","):
        if accepted.split(";")[0].strip() == "application/openmetrics-text":
            return Format.OPENMETRICS
    return Format.TEXT


def accepts_gzip(accept_encoding: str | None) -> bool:
    for coding in (accept_encoding or "").split(","):
        name, _, params = coding.partition(";")
        if name.strip().lower() == "gzip" and params.replace(" ", "") not in ("q=0", "q=0.0"):
            return True
    return False

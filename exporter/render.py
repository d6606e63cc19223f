"""Exposition bytes, rendered once per snapshot with prometheus_client's own encoders.

A scrape only joins these bytes. Gzip variants are cached per snapshot too: gzip members
concatenate into one valid stream, so a scrape never compresses the fleet.
"""

import gzip
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.exposition import generate_latest as generate_text
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as CONTENT_TYPE_OPENMETRICS
from prometheus_client.openmetrics.exposition import generate_latest as _generate_openmetrics
from prometheus_client.samples import Sample

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


Encoding = tuple[Format, bool]  # (format, gzipped)
# What Prometheus asks for unless told otherwise.
PROMETHEUS_DEFAULT: Encoding = (Format.OPENMETRICS, True)


@dataclass(frozen=True)
class EncodedFamily:
    """One family of one snapshot: its HELP/TYPE header and its sample lines, apart.

    Kept apart so that a family several collectors emit (``skyserve_replica_info`` from SkyServe,
    Kubernetes and bare metal) is joined under one header at scrape time: both formats forbid a
    family appearing twice. ``mergeable`` is False for the rare family that could not be split.
    """

    name: str
    header: bytes
    body: bytes
    mergeable: bool = True

    def gzipped(self) -> "EncodedFamily":
        return EncodedFamily(
            self.name, _gzip_or_empty(self.header), _gzip_or_empty(self.body), self.mergeable
        )


def _gzip_or_empty(data: bytes) -> bytes:
    return compress(data) if data else b""


class LineCache:
    """Encoded sample lines of the previous collection, reused for the very same ``Sample`` objects.

    Like kube-state-metrics' store of pre-rendered series: a collector that reuses unchanged
    samples (``exporter.metrics.SampleReuse``) gets their lines back without encoding; only new
    or changed samples go through prometheus_client's encoder, in one batch per family. Each
    sample is one line in both formats (label values escape their newlines). Owned by one
    collector; keeps only the last collection's lines per format.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._previous: dict[Format, dict[int, tuple[Sample, bytes]]] = {}

    def encode(self, fmt: Format, families: Sequence[Metric]) -> list[EncodedFamily]:
        with self._lock:
            previous = self._previous.get(fmt, {})
            current: dict[int, tuple[Sample, bytes]] = {}
            encoded = [self._encode_family(fmt, family, previous, current) for family in families]
            self._previous[fmt] = current
        return encoded

    def _encode_family(
        self,
        fmt: Format,
        family: Metric,
        previous: dict[int, tuple[Sample, bytes]],
        current: dict[int, tuple[Sample, bytes]],
    ) -> EncodedFamily:
        if not _one_line_per_sample(family):
            return EncodedFamily(family.name, b"", encode_families(fmt, [family]), mergeable=False)
        header = encode_families(fmt, [_like(family, [])])
        lines: list[bytes] = []
        missed_at: list[int] = []
        missed: list[Sample] = []
        for sample in family.samples:
            # The cache holds the sample itself, so its id cannot have been reused by another object.
            hit = previous.get(id(sample))
            if hit is not None and hit[0] is sample:
                current[id(sample)] = hit
                lines.append(hit[1])
            else:
                missed_at.append(len(lines))
                missed.append(sample)
                lines.append(b"")
        if missed:
            fresh = (
                encode_families(fmt, [_like(family, missed)]).removeprefix(header).splitlines(keepends=True)
            )
            if len(fresh) != len(missed):
                return EncodedFamily(family.name, b"", encode_families(fmt, [family]), mergeable=False)
            for index, sample, line in zip(missed_at, missed, fresh, strict=True):
                lines[index] = line
                current[id(sample)] = (sample, line)
        return EncodedFamily(family.name, header, b"".join(lines))


def _one_line_per_sample(family: Metric) -> bool:
    """Plain gauge and counter samples; anything else (``_created``, exemplars) is encoded whole."""
    names = {family.name, f"{family.name}_total"} if family.type == "counter" else {family.name}
    return family.type in ("gauge", "counter") and all(
        s.name in names and s.timestamp is None and s.exemplar is None and s.native_histogram is None
        for s in family.samples
    )


def _like(family: Metric, samples: list[Sample]) -> Metric:
    copy = Metric(family.name, family.documentation, family.type, family.unit)
    copy.samples = samples
    return copy


def encode_families(fmt: Format, families: Sequence[Metric]) -> bytes:
    """Families encoded by prometheus_client (OpenMetrics without its ``# EOF`` trailer)."""
    source = _Families(families)
    if fmt is Format.OPENMETRICS:
        return generate_openmetrics(source).removesuffix(_OPENMETRICS_EOF)
    return generate_text(source)


class Rendered:
    """One snapshot's families encoded, per encoding, each encoding made at most once.

    The runner renders the encodings scrapers have been asking for while it collects, so a scrape
    normally finds its bytes ready; an encoding nobody asked for recently is made on first request.
    OpenMetrics is kept without its ``# EOF`` trailer so snapshots can be joined.
    """

    def __init__(self, families: Sequence[Metric], lines: LineCache | None = None) -> None:
        self._families = list(families)
        self._lines = lines if lines is not None else LineCache()
        self._lock = threading.Lock()
        self._encoded: dict[Encoding, list[EncodedFamily]] = {}

    def families(self, fmt: Format, gzipped: bool) -> list[EncodedFamily]:
        with self._lock:
            return self._families_locked(fmt, gzipped)

    def body(self, fmt: Format, gzipped: bool) -> bytes:
        """This snapshot alone as one exposition body (without the OpenMetrics trailer)."""
        return b"".join(part for f in self.families(fmt, gzipped) for part in (f.header, f.body))

    def warm(self, encodings: Iterable[Encoding]) -> None:
        for fmt, gzipped in encodings:
            self.families(fmt, gzipped)

    def _families_locked(self, fmt: Format, gzipped: bool) -> list[EncodedFamily]:
        encoded = self._encoded.get((fmt, gzipped))
        if encoded is None:
            if gzipped:
                # The plain bytes are kept only if someone asked for them: at 10k replicas they
                # are ten times the size of the gzipped ones that Prometheus actually fetches.
                plain = self._encoded.get((fmt, False)) or self._lines.encode(fmt, self._families)
                encoded = [family.gzipped() for family in plain]
            else:
                encoded = self._lines.encode(fmt, self._families)
            self._encoded[(fmt, gzipped)] = encoded
        return encoded


class EncodingDemand:
    """Which encodings scrapers asked for lately, so collections render just those ahead of time.

    Encoding costs about 10 µs a sample per format; rendering every format at every collection
    would double or triple the work at 10k replicas for encodings nobody scrapes.
    """

    def __init__(self, clock: Callable[[], float], memory_seconds: float = 600.0) -> None:
        self._clock = clock
        self._memory = memory_seconds
        self._lock = threading.Lock()
        self._last_asked: dict[Encoding, float] = {}

    def note(self, fmt: Format, gzipped: bool) -> None:
        with self._lock:
            self._last_asked[(fmt, gzipped)] = self._clock()

    def wanted(self) -> list[Encoding]:
        """Never empty: rendering one encoding at collection also proves the families encode."""
        horizon = self._clock() - self._memory
        with self._lock:
            recent = [encoding for encoding, at in self._last_asked.items() if at >= horizon]
        return recent or [PROMETHEUS_DEFAULT]


def generate_openmetrics(source: object) -> bytes:
    """prometheus_client's OpenMetrics encoder, which is not type-annotated upstream."""
    return _generate_openmetrics(source)  # type: ignore[no-untyped-call,no-any-return]


def render(families: Sequence[Metric], lines: LineCache | None = None) -> Rendered:
    return Rendered(families, lines)


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

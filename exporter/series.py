"""Each collector's series, encoded once per collection with prometheus_client's own encoders.

Like kube-state-metrics' metrics store, which keeps every object's series pre-rendered, a
collector's ``SeriesStore`` keeps the encoded lines of its previous collection, keyed by what a
line is made of (sample name, labels, value): a mostly steady fleet then costs a dict lookup a
sample. New series go through prometheus_client's encoder; a known series whose value changed
(cost counters, every collection) keeps its encoded labels and gets the value written as the
encoders write it, so the output stays byte-identical to prometheus_client's.

For gauge and counter samples a line is the same bytes in the text format and in OpenMetrics (the
same label escaping and number formatting; counter samples are ``x_total`` in both); only the
HELP/TYPE header differs, so a family is kept as one body both formats share plus a header per
format, and serving either format costs no further encoding.
"""

import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.exposition import generate_latest as generate_text
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as CONTENT_TYPE_OPENMETRICS
from prometheus_client.openmetrics.exposition import generate_latest as _generate_openmetrics
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

OPENMETRICS_EOF = b"# EOF\n"

# Names both encoders leave untouched; others (a ':' or a '.') each encoder escapes its own way.
_PLAIN_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# Samples are read by unpacking, the fastest way; a prometheus_client whose Sample has other
# fields gets every family encoded whole.
_SAMPLES_UNPACK = Sample._fields == ("name", "labels", "value", "timestamp", "exemplar", "native_histogram")
_NEGATIVE_ZERO = "-0.0"


class Format(Enum):
    TEXT = CONTENT_TYPE_PLAIN_0_0_4
    OPENMETRICS = CONTENT_TYPE_OPENMETRICS

    @property
    def content_type(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class EncodedFamily:
    """A gauge or counter family: a header per format and the sample lines both formats share.

    Header and body are apart so that a family several collectors emit (``skyserve_replica_info``
    from SkyServe, Kubernetes and bare metal) can be joined under one header: both formats forbid
    a family appearing twice.
    """

    name: str
    text_header: bytes
    openmetrics_header: bytes
    body: bytes

    def header(self, fmt: Format) -> bytes:
        return self.openmetrics_header if fmt is Format.OPENMETRICS else self.text_header


@dataclass(frozen=True)
class WholeFamily:
    """A family that is not one plain line per sample (other types, ``_created`` samples,
    exemplars, timestamps), encoded whole in each format; it cannot be joined with another's."""

    name: str
    text: bytes
    openmetrics: bytes

    def encoded(self, fmt: Format) -> bytes:
        return self.openmetrics if fmt is Format.OPENMETRICS else self.text


Family = EncodedFamily | WholeFamily


@dataclass(frozen=True)
class EncodedSeries:
    """One collection's families, encoded, in the order the collector built them."""

    families: tuple[Family, ...]
    samples: int
    fresh_lines: int = 0  # lines made for this collection, not found as they were in the last one

    def exposition(self, fmt: Format) -> bytes:
        """These families alone as one exposition (OpenMetrics without its ``# EOF``)."""
        parts: list[bytes] = []
        for family in self.families:
            if isinstance(family, EncodedFamily):
                parts += (family.header(fmt), family.body)
            else:
                parts.append(family.encoded(fmt))
        return b"".join(parts)


# (sample name, label names, label values): a series; with its value, all a line is made of.
_SeriesKey = tuple[str, tuple[str, ...], tuple[str, ...]]
_Line = tuple[object, bytes]  # (value, line)


@dataclass(frozen=True)
class _Kept:
    """What encoding one family leaves for the next collection."""

    header_key: tuple[str, str, str]  # documentation, type, unit
    headers: tuple[bytes, bytes]  # text, OpenMetrics
    lines: dict[_SeriesKey, _Line]
    body: bytes


class SeriesStore:
    """One collector's encoded families of its last collection, whose lines are reused by value.

    Owned by the collector's runner, which hands it each collection's families; only the last
    collection is kept, so a series gone upstream leaves the store at the next collection.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[str, _Kept] = {}

    def encode(self, families: Iterable[Metric]) -> EncodedSeries:
        with self._lock:
            previous, kept = self._kept, {}
            encoded: list[Family] = []
            samples = fresh_lines = 0
            for family in families:
                samples += len(family.samples)
                made = _encode(family, previous.get(family.name))
                if isinstance(made, WholeFamily):
                    encoded.append(made)
                    continue
                family_kept, fresh = made
                kept[family.name] = family_kept
                encoded.append(EncodedFamily(family.name, *family_kept.headers, family_kept.body))
                fresh_lines += fresh
            self._kept = kept
        return EncodedSeries(tuple(encoded), samples, fresh_lines)


def _encode(family: Metric, before: _Kept | None) -> WholeFamily | tuple[_Kept, int]:
    """The family encoded against what its last encoding left, and how many lines were made anew."""
    plain = _SAMPLES_UNPACK and family.type in ("gauge", "counter") and _PLAIN_NAME.fullmatch(family.name)
    if not plain:
        return _whole(family)
    header_key = (family.documentation, family.type, family.unit)
    if before is not None and before.header_key == header_key:
        headers = before.headers
    else:
        empty = _like(family, [])
        headers = (encode_families(Format.TEXT, [empty]), encode_families(Format.OPENMETRICS, [empty]))
    made = _lines(family, headers[0], before.lines if before is not None else {})
    if made is None:
        return _whole(family)
    series, lines, fresh = made
    body = b"".join(line for _, line in lines)
    if before is not None and not fresh and len(series) == len(before.lines):
        table = before.lines  # every line found as it was: the last collection's table serves again
        if body == before.body:
            body = before.body  # the same object lets gzip members be reused without comparing bytes
    else:
        table = dict(zip(series, lines, strict=True))
    return _Kept(header_key, headers, table, body), fresh


def _lines(
    family: Metric, text_header: bytes, previous: dict[_SeriesKey, _Line]
) -> tuple[list[_SeriesKey], list[_Line], int] | None:
    """Each sample's series and line, and how many lines were made anew rather than found as
    they were; None if the family is not plain lines."""
    sample_names = (family.name, f"{family.name}_total") if family.type == "counter" else (family.name,)
    series: list[_SeriesKey] = []
    lines: list[_Line] = []
    revalued = 0
    missed_at: list[int] = []
    label_names: tuple[str, ...] = ()
    for sample in family.samples:
        name, labels, value, timestamp, exemplar, histogram = sample
        if name not in sample_names or timestamp is not None or exemplar is not None or histogram is not None:
            return None
        names = tuple(labels)
        if names != label_names:
            label_names = names  # one tuple shared by the keys of a family's samples
        value_key: object = value
        if value == 0 and math.copysign(1.0, value) < 0:
            value_key = _NEGATIVE_ZERO  # equals 0.0 but is written -0.0
        key = (name, label_names, tuple(labels.values()))
        series.append(key)
        found = previous.get(key)
        if found is None:
            missed_at.append(len(lines))
            lines.append((value_key, b""))
        elif found[0] == value_key:
            lines.append(found)
        else:
            # A known series with a new value (a cost counter, every collection): its line up to
            # the last space is kept (label values, even with spaces, come before it) and the value
            # is written with the function both encoders write values with.
            kept = found[1][: found[1].rindex(b" ") + 1]
            lines.append((value_key, b"%s%s\n" % (kept, _go_float(value).encode())))
            revalued += 1
    if missed_at:
        # One batch through prometheus_client's text encoder, whose sample lines OpenMetrics shares.
        encoded = encode_families(Format.TEXT, [_like(family, [family.samples[i] for i in missed_at])])
        if not encoded.startswith(text_header):
            return None
        # Label values escape their newlines, so each sample is exactly one line.
        fresh = encoded[len(text_header) :].split(b"\n")
        if len(fresh) != len(missed_at) + 1 or fresh.pop():
            return None
        for index, text in zip(missed_at, fresh, strict=True):
            lines[index] = (lines[index][0], text + b"\n")
    return series, lines, revalued + len(missed_at)


def _whole(family: Metric) -> WholeFamily:
    return WholeFamily(
        family.name, encode_families(Format.TEXT, [family]), encode_families(Format.OPENMETRICS, [family])
    )


def _like(family: Metric, samples: list[Sample]) -> Metric:
    copy = Metric(family.name, family.documentation, family.type, family.unit)
    copy.samples = samples
    return copy


class _Families:
    """The tiny ``collect()`` object prometheus_client's encoders take instead of a registry."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> list[Metric]:
        return self._families


def encode_families(fmt: Format, families: Sequence[Metric]) -> bytes:
    """Families encoded by prometheus_client (OpenMetrics without its ``# EOF`` trailer)."""
    source = _Families(families)
    if fmt is Format.OPENMETRICS:
        return generate_openmetrics(source).removesuffix(OPENMETRICS_EOF)
    return generate_text(source)


def _go_float(value: float) -> str:
    """prometheus_client's number formatting, which is not type-annotated upstream."""
    return floatToGoString(value)  # type: ignore[no-untyped-call,no-any-return]


def generate_openmetrics(source: object) -> bytes:
    """prometheus_client's OpenMetrics encoder, which is not type-annotated upstream."""
    return _generate_openmetrics(source)  # type: ignore[no-untyped-call,no-any-return]

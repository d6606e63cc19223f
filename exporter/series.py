"""Each collector's series, encoded once per collection, byte for byte as prometheus_client does.

A collection's gauge and counter families are written straight from their rows (label values and
a value per sample, ``exporter.metrics.RowFamily``) into one body per family: a format string per
family with the label names already in place, the label values escaped only when they need it,
and values written with prometheus_client's own number formatting. No label dict, ``Sample`` or
per-line object outlives the family being written, so what a collector keeps between
collections is its bodies alone. Families from elsewhere (a plugin's prometheus_client
families) take the same path from their samples; any other kind is encoded whole by
prometheus_client.

For gauge and counter samples a line is the same bytes in the text format and in OpenMetrics (the
same label escaping and number formatting; counter samples are ``x_total`` in both); only the
HELP/TYPE header differs, so a family is kept as one body both formats share plus a header per
format, and serving either format costs no further encoding. A body equal to the last
collection's is that very object again, which lets the gzip members be reused without comparing.
"""

import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from itertools import islice

from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.exposition import generate_latest as generate_text
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as CONTENT_TYPE_OPENMETRICS
from prometheus_client.openmetrics.exposition import generate_latest as _generate_openmetrics
from prometheus_client.samples import Sample

from exporter.metrics import Row, RowFamily

OPENMETRICS_EOF = b"# EOF\n"

# Names both encoders leave untouched; others (a ':' or a '.') each encoder escapes its own way.
_PLAIN_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_NEEDS_ESCAPE = re.compile(r'[\\"\n]')
_LINES_PER_CHUNK = 4096
_INF = float("inf")
# Samples are read by unpacking, the fastest way; a prometheus_client whose Sample has other
# fields gets every family encoded whole.
_SAMPLES_UNPACK = Sample._fields == ("name", "labels", "value", "timestamp", "exemplar", "native_histogram")


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
    reused: int = 0  # families whose body is the last collection's, unchanged

    def exposition(self, fmt: Format) -> bytes:
        """These families alone as one exposition (OpenMetrics without its ``# EOF``)."""
        parts: list[bytes] = []
        for family in self.families:
            if isinstance(family, EncodedFamily):
                parts += (family.header(fmt), family.body)
            else:
                parts.append(family.encoded(fmt))
        return b"".join(parts)


@dataclass(frozen=True, slots=True)
class _Segment:
    """Where the lines of one keyed source lie in a family's body (``FamilyBuilder.add_rows``)."""

    key: object  # held, so that no other object can take its id while this is kept
    start: int
    end: int
    lines: int


@dataclass(frozen=True)
class _Kept:
    """What encoding one family leaves for the next collection."""

    header_key: tuple[str, str, str]  # documentation, type, unit
    headers: tuple[bytes, bytes]  # text, OpenMetrics
    body: bytes
    samples: int
    writer_key: tuple[str, tuple[str, ...]] | None = None  # sample name and label names
    segments: dict[int, _Segment] = field(default_factory=dict)  # by the id of their key


class SeriesStore:
    """One collector's encoded families of its last collection.

    Owned by the collector's runner, which hands it each collection's families; only the last
    collection is kept, so a series gone upstream leaves the store at the next collection.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[str, _Kept] = {}
        self._writers: dict[tuple[str, tuple[str, ...]], _Writer] = {}

    def encode(self, families: Iterable[Metric]) -> EncodedSeries:
        with self._lock:
            previous, kept = self._kept, {}
            encoded: list[Family] = []
            samples = reused = 0
            for family in families:
                made = _encode(family, previous.get(family.name), self._writers)
                if isinstance(made, WholeFamily):
                    samples += len(family.samples)
                    encoded.append(made)
                    continue
                samples += made.samples
                before = previous.get(family.name)
                reused += before is not None and made.body is before.body
                kept[family.name] = made
                encoded.append(EncodedFamily(family.name, *made.headers, made.body))
            self._kept = kept
        return EncodedSeries(tuple(encoded), samples, reused)


def _encode(
    family: Metric, before: _Kept | None, writers: dict[tuple[str, tuple[str, ...]], "_Writer"]
) -> WholeFamily | _Kept:
    """The family encoded, its headers and an unchanged body taken from its last encoding."""
    if family.type not in ("gauge", "counter") or not _PLAIN_NAME.fullmatch(family.name):
        return _whole(family)
    made: _Body | None
    if isinstance(family, RowFamily):
        made = _rows_body(family, writers, before)
    else:
        plain = _samples_body(family)
        made = None if plain is None else (*plain, None, {})
    if made is None:
        return _whole(family)
    body, samples, writer_key, segments = made
    header_key = (family.documentation, family.type, family.unit)
    if before is not None and before.header_key == header_key:
        headers = before.headers
    else:
        empty = Metric(family.name, family.documentation, family.type, family.unit)
        headers = (encode_families(Format.TEXT, [empty]), encode_families(Format.OPENMETRICS, [empty]))
    if before is not None and body == before.body:
        body = before.body
    return _Kept(header_key, headers, body, samples, writer_key, segments)


# A family's body, its line count, and for rows: the writer's key and where keyed sources lie.
_Body = tuple[bytes, int, tuple[str, tuple[str, ...]] | None, dict[int, _Segment]]
# Writes a batch of rows as lines: (rows, texts of the values seen, how to write a new value).
_Writer = Callable[[list[Row], dict[float, str], Callable[[float], str]], list[str]]


def _rows_body(
    family: RowFamily, writers: dict[tuple[str, tuple[str, ...]], _Writer], before: _Kept | None
) -> "_Body | None":
    """The sample lines of a family of rows and how many, as prometheus_client writes them
    (labels sorted by name, values escaped), in chunks of a bounded number of lines; with where
    each keyed source's lines lie, for the next collection.

    A keyed source whose key is the very object it was at the last collection is not read: its
    lines are that collection's, sliced from the body kept anyway (no second copy is held)."""
    names = family.label_names
    if not all(_PLAIN_NAME.fullmatch(name) for name in names):
        return None
    writer_key = (family.sample_name, names)
    write = writers.get(writer_key)
    if write is None:
        write = writers[writer_key] = _writer(family.sample_name, names)
    last = before.segments if before is not None and before.writer_key == writer_key else {}
    kept = memoryview(before.body) if last and before is not None else None
    known: dict[float, str] = {}  # each distinct value written once (most are 1.0)
    chunks: list[bytes | memoryview] = []
    segments: dict[int, _Segment] = {}
    count = offset = 0
    try:
        for key, rows in family.parts():
            found = last.get(id(key)) if key is not None else None
            if found is not None and found.key is key and kept is not None:
                chunks.append(kept[found.start : found.end])
                size, lines = found.end - found.start, found.lines
            else:
                size = lines = 0
                for batch in _batches(rows()):
                    chunk, written = _chunk(batch, write, known, len(names))
                    chunks.append(chunk)
                    size, lines = size + len(chunk), lines + written
            if key is not None:
                segments[id(key)] = _Segment(key, offset, offset + size, lines)
            offset, count = offset + size, count + lines
    except (TypeError, IndexError) as exc:  # a row with too few labels, or a label value not text
        raise ValueError(f"{family.sample_name} takes {len(names)} labels, each a string ({exc})") from None
    return b"".join(chunks), count, writer_key, segments


def _chunk(batch: list[Row], write: "_Writer", known: dict[float, str], arity: int) -> tuple[bytes, int]:
    """One batch of rows as lines, escaped where needed, and how many."""
    if not all(type(v) is str for v in batch[0][0]):
        # Rows are typed; a sample per batch is checked so that a None is not written "None".
        raise TypeError(f"label values {batch[0][0]!r}")
    lines = write(batch, known, _value_text)
    chunk = "".join(lines)
    # Escaping is rare, so it is checked per chunk: a label value with a quote, a backslash or
    # a newline shows in the counts, and only then is each row escaped.
    if chunk.count('"') != 2 * arity * len(lines) or "\\" in chunk or chunk.count("\n") != len(lines):
        escaped: list[Row] = [(tuple(_escape(v) for v in row), value) for row, value in batch]
        chunk = "".join(write(escaped, {}, _value_text))
    return chunk.encode(), len(lines)


def _writer(sample_name: str, names: Sequence[str]) -> _Writer:
    """A function writing one family's lines, made for its label names.

    Its f-string has the sample name and the label names (sorted, as the exposition has them) in
    place and reads each value from its position in the row: no per-line format string to parse,
    no tuple to reorder. Only names that are plain identifiers (checked by the caller) reach the
    source, which is why making it from text is safe.
    """
    order = sorted(range(len(names)), key=names.__getitem__)
    labels = ",".join(f'{names[i]}="{{row[{i}]}}"' for i in order)
    line = f"{sample_name}{{{{{labels}}}}} {{text}}\\n" if names else f"{sample_name} {{text}}\\n"
    source = (
        "def write(batch, known, value_text):\n"
        "    lines = []\n"
        "    append = lines.append\n"
        "    for row, value in batch:\n"
        f"        if len(row) != {len(names)}:\n"
        "            raise TypeError(f'{len(row)} label values')\n"
        "        text = known.get(value)\n"
        "        if text is None or not value:  # -0.0 equals 0.0 but is written -0.0\n"
        "            text = known[value] = value_text(value)\n"
        f"        append(f'{line}')\n"
        "    return lines\n"
    )
    namespace: dict[str, object] = {}
    exec(compile(source, f"<lines of {sample_name}>", "exec"), namespace)
    return namespace["write"]  # type: ignore[return-value]


def _batches(made: Iterable[Row]) -> Iterator[list[Row]]:
    """Rows in lists of a bounded size: a family of 100k lines never exists as 100k strings at once."""
    rows = iter(made)
    while batch := list(islice(rows, _LINES_PER_CHUNK)):
        yield batch


def _samples_body(family: Metric) -> tuple[bytes, int] | None:
    """The sample lines of a prometheus_client family; None if it is not one plain line per sample."""
    sample_names = (family.name, f"{family.name}_total") if family.type == "counter" else (family.name,)
    if not _SAMPLES_UNPACK:
        return None
    lines = []
    for name, labels, value, timestamp, exemplar, histogram in family.samples:
        if name not in sample_names or timestamp is not None or exemplar is not None or histogram is not None:
            return None
        if not labels:
            lines.append(f"{name} {_value_text(value)}\n")
            continue
        if not all(_PLAIN_NAME.fullmatch(key) for key in labels):
            return None
        text = ",".join(f'{key}="{_escape(labels[key])}"' for key in sorted(labels))
        lines.append(f"{name}{{{text}}} {_value_text(value)}\n")
    return "".join(lines).encode(), len(lines)


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _value_text(value: float) -> str:
    """prometheus_client's ``floatToGoString``, its checks in the order of their likelihood (a
    family of 100k timestamps or costs writes 100k distinct values)."""
    number = float(value)
    text = repr(number)  # -0.0 stays "-0.0", as prometheus_client writes it
    if number > 0:
        if number == _INF:
            return "+Inf"
        dot = text.find(".")
        # Go switches to exponents sooner than Python, for positive values.
        if dot > 6:
            mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
            return f"{mantissa}e+{dot - 1:02d}"
        return text
    if math.isnan(number):
        return "NaN"
    return "-Inf" if number == -_INF else text


def _whole(family: Metric) -> WholeFamily:
    return WholeFamily(
        family.name,
        encode_families(Format.TEXT, [family]),
        encode_families(Format.OPENMETRICS, [family]),
    )


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


def generate_openmetrics(source: object) -> bytes:
    """prometheus_client's OpenMetrics encoder, which is not type-annotated upstream."""
    return _generate_openmetrics(source)  # type: ignore[no-untyped-call,no-any-return]

"""Gzip for /metrics: one gzip member per family part, each kept while its bytes are unchanged.

Gzip members concatenate into one valid stream, so a gzipped scrape is the members of its parts
joined. A member is remade only when its family's bytes changed since the collector's last served
series; a scrape never compresses the fleet.
"""

import gzip
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from exporter.series import EncodedFamily, EncodedSeries, Family, WholeFamily
from exporter.snapshot import Snapshot

# Fast, and exposition text is repetitive enough that level 1 already shrinks it about tenfold.
_GZIP_LEVEL = 1


def compress(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=_GZIP_LEVEL, mtime=0)


@dataclass(frozen=True)
class GzippedSeries:
    """``plain``'s families with each part replaced by its gzip member (empty parts stay empty)."""

    plain: EncodedSeries
    families: tuple[Family, ...]


class GzipMembers:
    """The gzip members of each collector's served series, made once per collection.

    Registered on the snapshot store, it gzips a stored series on the collector's thread while
    scrapers have asked for gzip lately, so the first scrape after a collection finds its members
    ready; when nobody has, a series is gzipped by the first scrape that needs it.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, memory_seconds: float = 600.0) -> None:
        self._clock = clock
        self._memory = memory_seconds
        self._lock = threading.Lock()
        self._by_collector: dict[str, GzippedSeries] = {}
        self._last_asked: float | None = None

    def asked(self) -> None:
        """A scraper asked for gzip."""
        self._last_asked = self._clock()

    def stored(self, snapshot: Snapshot) -> None:
        """The store's listener: gzip what is now served, or let go of what no longer is."""
        if snapshot.series is None:
            return
        asked = self._last_asked
        if asked is not None and self._clock() - asked <= self._memory:
            self.of(snapshot.collector, snapshot.series)
        else:
            with self._lock:
                self._by_collector.pop(snapshot.collector, None)

    def of(self, collector: str, series: EncodedSeries) -> GzippedSeries:
        # Compressing under the lock: a scrape arriving meanwhile waits for these members
        # rather than making the same ones a second time.
        with self._lock:
            previous = self._by_collector.get(collector)
            if previous is not None and previous.plain is series:
                return previous
            made = gzip_series(series, previous)
            self._by_collector[collector] = made
            return made

    def keep_only(self, collectors: Iterable[str]) -> None:
        """Drop the members of collectors no longer served (removed, or their data stale)."""
        keep = set(collectors)
        with self._lock:
            for name in [name for name in self._by_collector if name not in keep]:
                del self._by_collector[name]


def gzip_series(series: EncodedSeries, previous: GzippedSeries | None = None) -> GzippedSeries:
    """``series`` as gzip members, each taken from ``previous`` when its plain bytes are unchanged."""
    before: dict[str, tuple[Family, Family]] = {}
    if previous is not None:
        before = {
            plain.name: (plain, member)
            for plain, member in zip(previous.plain.families, previous.families, strict=True)
        }
    return GzippedSeries(
        series, tuple(_gzip_family(family, before.get(family.name)) for family in series.families)
    )


def _gzip_family(family: Family, before: tuple[Family, Family] | None) -> Family:
    parts = _parts(family)
    if before is not None and type(before[0]) is type(family):
        old_parts: tuple[bytes | None, ...] = _parts(before[0])
        old_members: tuple[bytes | None, ...] = _parts(before[1])
    else:
        old_parts = old_members = (None,) * len(parts)
    members = [_member(*part) for part in zip(parts, old_parts, old_members, strict=True)]
    if isinstance(family, EncodedFamily):
        return EncodedFamily(family.name, *members)
    return WholeFamily(family.name, *members)


def _parts(family: Family) -> tuple[bytes, ...]:
    if isinstance(family, EncodedFamily):
        return (family.text_header, family.openmetrics_header, family.body)
    return (family.text, family.openmetrics)


def _member(plain: bytes, old_plain: bytes | None, old_member: bytes | None) -> bytes:
    # The same object when the series store reused it; else equal bytes, a memcmp that stops at
    # the first difference and is skipped when the lengths differ.
    if old_member is not None and (old_plain is plain or old_plain == plain):
        return old_member
    return compress(plain) if plain else b""

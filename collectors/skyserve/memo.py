"""Services parsed once: a service whose JSON text is the last poll's is that poll's record again.

Most services of a fleet are the same from one poll to the next (a replica changes state every
few minutes, polls come every few seconds), yet decoding and parsing every replica of every
service was most of a poll's own cost. ``serve.status`` is split into one text per service
(``wire.split_services``); each text is keyed by its SHA-256 (hardware-assisted on most CPUs, and
no collision an upstream could aim for), and a text seen at the last poll gives back the same
``ServiceRecord`` object, with what parsing it skipped, without being decoded. Keeping the same
object also lets the series store reuse what it encoded from it (``exporter.metrics`` segments).

Only the last poll's services are kept: a service gone upstream is forgotten at the next poll, so
the memo never holds more than one poll's records. The result equals ``records.parse_fleet`` on
the same answer (tests/unit/skyserve/test_skyserve_memo.py), duplicates and skip counts included.
A shard decodes a new service's text to read its name and parses only the services it owns.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

import msgspec

from collectors.skyserve.records import DUPLICATE_SERVICE, Fleet, FleetParser, Placement, ServiceRecord
from collectors.skyserve.sharding import record_name
from collectors.skyserve.wire import ServiceSource, ServiceWire, service_of
from exporter.sharding import UNSHARDED, Shard

# Distinct placements a fleet has are few (clouds x regions x instance types); far more means texts
# that change every poll.
_MAX_PLACEMENTS = 10_000


@dataclass(frozen=True, slots=True)
class _Parsed:
    """One service's text as parsed: its name (for the shard), record, and what was skipped."""

    name: str
    record: ServiceRecord | None
    skipped: dict[str, int]
    read: bool = True  # False: another shard's service, decoded for its name only


class ServiceMemo:
    """The services of the last poll by the digest of their text; owned by one collector."""

    def __init__(self) -> None:
        self._last: dict[bytes, _Parsed] = {}
        self._placements: dict[tuple[Any, ...], Placement | None] = {}
        self.reused = 0  # services of the latest poll taken from the one before

    def fleet(self, sources: Iterable[ServiceSource], shard: Shard = UNSHARDED) -> Fleet:
        """Every well-formed service ``shard`` owns, in upstream order, and what was skipped."""
        owns = shard.owner()
        if len(self._placements) > _MAX_PLACEMENTS:
            self._placements = {}  # an upstream inventing placement texts cannot grow it without end
        parser = FleetParser(placements=self._placements)
        seen: dict[bytes, _Parsed] = {}
        services: dict[str, ServiceRecord] = {}
        skipped: Counter[str] = Counter()
        reused = 0
        for source in sources:
            if isinstance(source, msgspec.Raw):
                key = sha256(source).digest()
                parsed = seen.get(key) or self._last.get(key)
                if parsed is None or (not parsed.read and owns(parsed.name)):  # new, or newly owned
                    parsed = _parse(parser, service_of(source), owns)
                else:
                    reused += key not in seen
                seen[key] = parsed
            else:
                parsed = _parse(parser, service_of(source), owns)
            if not owns(parsed.name):
                continue
            skipped.update(parsed.skipped)
            record = parsed.record
            if record is None:
                continue
            if record.name in services:
                skipped[DUPLICATE_SERVICE] += 1
                continue
            services[record.name] = record
        self._last, self.reused = seen, reused
        return Fleet(services=tuple(services.values()), skipped=dict(skipped))


def _parse(parser: FleetParser, wire: ServiceWire | None, owns: Callable[[str], bool]) -> _Parsed:
    name = record_name(wire)
    if not owns(name):
        return _Parsed(name, None, {}, read=False)
    record, skipped = parser.counted_apart(wire)
    return _Parsed(name, record, skipped)

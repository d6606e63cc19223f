"""The scrape path: fresh self-metrics joined with the snapshots' pre-rendered bytes."""

import threading
from collections.abc import Sequence

from exporter.render import Encoding, Format, compress, encode_families, trailer
from exporter.selfmetrics import self_families
from exporter.snapshot import CollectorView, ReloadStatus, SnapshotStore


class ScrapeCache:
    """The last response body per encoding, reused while nothing it shows has changed.

    Between two collections every scrape would encode the same self-metrics and join the same
    chunks; what a scrape shows changes only when a run is stored or data turns stale, so the
    key is the store's version and the freshness of each collector's data.
    """

    def __init__(self, store: SnapshotStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._last: dict[Encoding, tuple[tuple[object, ...], list[bytes]]] = {}

    def body(self, now: float, fmt: Format, gzipped: bool) -> list[bytes]:
        version = self._store.version
        views = self._store.view(now)
        key = (version, *(view.fresh for view in views))
        with self._lock:
            cached = self._last.get((fmt, gzipped))
        if cached is not None and cached[0] == key:
            return cached[1]
        chunks = scrape_body(views, fmt, gzipped, self._store.reload_status)
        with self._lock:
            self._last[(fmt, gzipped)] = (key, chunks)
        return chunks


def scrape_body(
    views: Sequence[CollectorView], fmt: Format, gzipped: bool, reload: ReloadStatus | None = None
) -> list[bytes]:
    """The response body as chunks; only the small self-metrics part is encoded here."""
    head = encode_families(fmt, self_families(views, reload))
    tail = trailer(fmt)
    if gzipped:
        head, tail = compress(head), compress(tail) if tail else b""
    chunks = [head, *_joined_families(views, fmt, gzipped)]
    if tail:
        chunks.append(tail)
    return chunks


def _joined_families(views: Sequence[CollectorView], fmt: Format, gzipped: bool) -> list[bytes]:
    """Every served family once: a family several collectors emit gets the first one's header."""
    joined: dict[str, list[bytes]] = {}
    unmergeable: list[bytes] = []
    for view in views:
        serving = view.serving
        if serving is None or serving.rendered is None:
            continue
        for family in serving.rendered.families(fmt, gzipped):
            if not family.mergeable:
                unmergeable.append(family.body)
            elif family.name in joined:
                joined[family.name].append(family.body)
            else:
                joined[family.name] = [family.header, family.body]
    return [part for parts in joined.values() for part in parts if part] + unmergeable

"""The scrape path: fresh self-metrics joined with the collectors' encoded series.

Joining is the scrape's business: a family several collectors emit is served once, under the
first one's header (both formats forbid a repeated family), and OpenMetrics ends with exactly one
``# EOF``. Gzipped, each part is a gzip member; members concatenate into one valid stream.
"""

import threading
from collections.abc import Callable, Sequence

from exporter.gzip_members import GzipMembers, compress
from exporter.selfmetrics import self_families
from exporter.series import OPENMETRICS_EOF, EncodedFamily, Family, Format, encode_families
from exporter.sharding import UNSHARDED, Shard
from exporter.snapshot import CollectorView, ReloadStatus, SnapshotStore

_GZIPPED_EOF = compress(OPENMETRICS_EOF)
# The server writes, and awaits, each chunk on its own, in slices of this size.
_CHUNK_BYTES = 64 * 1024


class ScrapeCache:
    """The last response body per encoding, reused while nothing it shows has changed.

    Between two collections every scrape would encode the same self-metrics and join the same
    chunks; what a scrape shows changes only when a run is stored or data turns stale, so the
    key is the store's version and the freshness of each collector's data.
    """

    def __init__(
        self,
        store: SnapshotStore,
        members: GzipMembers,
        web: Callable[[], ReloadStatus] | None = None,
        shard: Callable[[], Shard] | None = None,
    ) -> None:
        """``web``: how the web config's last reload went, when there is one; ``shard``: the
        shard this exporter is now (default: the only one)."""
        self._store = store
        self._members = members
        self._web = web
        self._shard = shard
        self._lock = threading.Lock()
        self._last: dict[tuple[Format, bool], tuple[tuple[object, ...], list[bytes]]] = {}

    def body(self, now: float, fmt: Format, gzipped: bool) -> list[bytes]:
        version = self._store.version
        views = self._store.view(now)
        web = self._web() if self._web is not None else None
        shard = self._shard() if self._shard is not None else UNSHARDED
        key = (version, web, shard, *(view.fresh for view in views))
        with self._lock:
            cached = self._last.get((fmt, gzipped))
        if cached is not None and cached[0] == key:
            return cached[1]
        chunks = _coalesced(
            scrape_body(
                views, fmt, gzipped, self._store.reload_status, web, members=self._members, shard=shard
            )
        )
        with self._lock:
            self._last[(fmt, gzipped)] = (key, chunks)
        return chunks


def _coalesced(chunks: list[bytes]) -> list[bytes]:
    """Adjacent small chunks joined into chunks of about one write each: a gzipped body is mostly
    small members, and every chunk costs the server a write and a wait. Big chunks stay as they
    are, so the copy made (once per cached body) is of small ones only."""
    coalesced: list[bytes] = []
    pending: list[bytes] = []
    pending_bytes = 0
    for chunk in chunks:
        if len(chunk) >= _CHUNK_BYTES:
            if pending:
                coalesced.append(b"".join(pending))
                pending, pending_bytes = [], 0
            coalesced.append(chunk)
            continue
        pending.append(chunk)
        pending_bytes += len(chunk)
        if pending_bytes >= _CHUNK_BYTES:
            coalesced.append(b"".join(pending))
            pending, pending_bytes = [], 0
    if pending:
        coalesced.append(b"".join(pending))
    return coalesced


def scrape_body(
    views: Sequence[CollectorView],
    fmt: Format,
    gzipped: bool,
    reload: ReloadStatus | None = None,
    web: ReloadStatus | None = None,
    *,
    members: GzipMembers | None = None,
    shard: Shard = UNSHARDED,
) -> list[bytes]:
    """The response body as chunks (gzip members, taken from ``members``, when ``gzipped``);
    only the small self-metrics part is encoded here."""
    head = encode_families(fmt, self_families(views, reload, web, shard))
    if not gzipped:
        return [head, *_joined_families(views, fmt, None), *_trailer(fmt, OPENMETRICS_EOF)]
    members = members if members is not None else GzipMembers()
    return [compress(head), *_joined_families(views, fmt, members), *_trailer(fmt, _GZIPPED_EOF)]


def _trailer(fmt: Format, eof: bytes) -> list[bytes]:
    return [eof] if fmt is Format.OPENMETRICS else []


def _joined_families(views: Sequence[CollectorView], fmt: Format, gzipped: GzipMembers | None) -> list[bytes]:
    """Every served family once: a family several collectors emit gets the first one's header."""
    joined: dict[str, list[bytes]] = {}
    unmergeable: list[bytes] = []
    served: list[str] = []
    for view in views:
        serving = view.serving
        if serving is None or serving.series is None:
            continue
        served.append(view.name)
        families: Sequence[Family] = serving.series.families
        if gzipped is not None:
            families = gzipped.of(view.name, serving.series).families
        for family in families:
            if not isinstance(family, EncodedFamily):
                unmergeable.append(family.encoded(fmt))
            elif family.name in joined:
                joined[family.name].append(family.body)
            else:
                joined[family.name] = [family.header(fmt), family.body]
    if gzipped is not None:
        gzipped.keep_only(served)
    return [part for parts in joined.values() for part in parts if part] + unmergeable

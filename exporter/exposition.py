"""The scrape path: fresh self-metrics joined with the snapshots' pre-rendered bytes."""

from collections.abc import Sequence

from prometheus_client.exposition import generate_latest as generate_text

from exporter.render import Format, compress, generate_openmetrics, trailer
from exporter.selfmetrics import self_families
from exporter.snapshot import CollectorView


class _Families:
    def __init__(self, views: Sequence[CollectorView]) -> None:
        self._views = views

    def collect(self):  # type: ignore[no-untyped-def]
        return self_families(self._views)


def scrape_body(views: Sequence[CollectorView], fmt: Format, gzipped: bool) -> list[bytes]:
    """The response body as chunks; only the small self-metrics part is encoded here."""
    if fmt is Format.OPENMETRICS:
        head = generate_openmetrics(_Families(views)).removesuffix(trailer(fmt))
    else:
        head = generate_text(_Families(views))
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

"""The scrape path: fresh self-metrics joined with the snapshots' pre-rendered bytes."""

from collections.abc import Sequence

from exporter.render import Format, compress, encode_families, trailer
from exporter.selfmetrics import self_families
from exporter.snapshot import CollectorView


def scrape_body(views: Sequence[CollectorView], fmt: Format, gzipped: bool) -> list[bytes]:
    """The response body as chunks; only the small self-metrics part is encoded here."""
    head = encode_families(fmt, self_families(views))
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

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
    chunks = [head]
    for view in views:
        serving = view.serving
        if serving is not None and serving.rendered is not None:
            chunks.append(serving.rendered.body(fmt, gzipped))
    if tail:
        chunks.append(tail)
    return chunks

"""Runs a collector once: the one place where failures are caught, timed and classified."""

import json
import logging
import time
from collections.abc import Sequence

import pydantic
import requests

from exporter.collector import Clock, Collector
from exporter.errors import CollectorError, ErrorKind
from exporter.redact import redact_text
from exporter.render import Encoding, Format, LineCache, render
from exporter.snapshot import Snapshot

_MAX_ERROR_CHARS = 300


def run_once(
    collector: Collector,
    clock: Clock,
    logger: logging.Logger,
    encodings: Sequence[Encoding] = ((Format.TEXT, False),),
    lines: LineCache | None = None,
) -> Snapshot:
    """Fetch, build and render (in ``encodings``) one collection; never raises.

    Rendering here, not at the first scrape, keeps encoding cost and any encoding error inside
    the timed, classified run.
    """
    started_at = clock()
    t0 = time.perf_counter()
    try:
        raw = collector.fetch()
        build = collector.build(raw, now=clock())
        rendered = render(build.families, lines)
        rendered.warm(encodings)
    except Exception as exc:
        kind = classify(exc)
        message = describe(exc)
        _log_failure(logger, collector.name, kind, message, exc)
        return Snapshot(
            collector=collector.name,
            ok=False,
            started_at=started_at,
            duration=time.perf_counter() - t0,
            error_kind=kind,
            error=message,
        )
    return Snapshot(
        collector=collector.name,
        ok=True,
        started_at=started_at,
        duration=time.perf_counter() - t0,
        build=build,
        rendered=rendered,
    )


def classify(exc: BaseException) -> ErrorKind:
    if isinstance(exc, CollectorError):
        return exc.kind
    if isinstance(exc, requests.Timeout | TimeoutError):
        return ErrorKind.TIMEOUT
    if isinstance(exc, requests.ConnectionError | ConnectionError):
        return ErrorKind.UNAVAILABLE
    if isinstance(exc, json.JSONDecodeError | pydantic.ValidationError | UnicodeDecodeError):
        return ErrorKind.PARSE
    return ErrorKind.OTHER


def describe(exc: BaseException) -> str:
    """A one-line message fit for a log line or a status page: redacted and bounded."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = redact_text(text)
    if len(text) > _MAX_ERROR_CHARS:
        text = text[: _MAX_ERROR_CHARS - 3] + "..."
    return text


def _log_failure(
    logger: logging.Logger, name: str, kind: ErrorKind, message: str, exc: BaseException
) -> None:
    # An unclassified failure is most likely our bug: keep its traceback. Upstream trouble is not.
    if kind is ErrorKind.OTHER and not isinstance(exc, CollectorError):
        logger.error(
            "collection failed",
            extra={"collector": name, "reason": kind.value, "error": message},
            exc_info=exc,
        )
    else:
        logger.warning("collection failed", extra={"collector": name, "reason": kind.value, "error": message})

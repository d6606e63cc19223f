"""The fixed set of failure classes a collection can end in, and the exceptions that carry them.

Collectors raise these (or let library exceptions through); only the runner catches, classifies and
counts them.
"""

from enum import StrEnum


class ErrorKind(StrEnum):
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    AUTH = "auth"
    PARSE = "parse"
    OTHER = "other"


class CollectorError(Exception):
    """A failure whose class the collector already knows. The message must hold no secrets."""

    kind: ErrorKind = ErrorKind.OTHER

    def __init__(self, message: str, kind: ErrorKind | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class UpstreamTimeout(CollectorError):
    kind = ErrorKind.TIMEOUT


class UpstreamUnavailable(CollectorError):
    kind = ErrorKind.UNAVAILABLE


class UpstreamAuthError(CollectorError):
    kind = ErrorKind.AUTH


class UpstreamParseError(CollectorError):
    kind = ErrorKind.PARSE

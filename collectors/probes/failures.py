"""Which exceptions make a probe fail (as data), and how the reason is told without secrets."""

import http.client

from exporter.redact import redact_text

# Network, TLS and timeout errors are OSErrors; a malformed answer is an HTTPException; a URL or
# header that cannot be encoded is a ValueError. Anything else is a bug and is left to surface.
PROBE_ERRORS: tuple[type[Exception], ...] = (OSError, http.client.HTTPException, ValueError)
_MAX_CHARS = 200


def describe_failure(exc: BaseException) -> str:
    text = redact_text(" ".join(f"{type(exc).__name__}: {exc}".split()))
    return text if len(text) <= _MAX_CHARS else text[: _MAX_CHARS - 3] + "..."

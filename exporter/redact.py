"""Keeping credentials out of logs, labels and error messages."""

import re
from urllib.parse import urlsplit, urlunsplit

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\"]+")
_SKY_TOKEN = re.compile(r"\bsky_[A-Za-z0-9_\-.]+")


def redact_url(url: str) -> str:
    """The URL with any ``user:password@`` replaced by ``***@``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def redact_text(text: str) -> str:
    """Free text (an exception message, say) with URL credentials and bearer tokens masked."""
    text = _USERINFO.sub(r"\g<scheme>***@", text)
    text = _BEARER.sub(r"\g<1>***", text)
    return _SKY_TOKEN.sub("sky_***", text)

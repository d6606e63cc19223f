"""Parsing targets: ``host:port`` for TCP, URLs for HTTP, and the key that says two URLs are the same."""

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
UrlKey = tuple[str, str, str, int, str, str]


def split_host_port(target: str) -> tuple[str, int]:
    """Host and port of ``host:port``, ``[v6]:port`` or a URL (default port from its scheme)."""
    text = target.strip()
    if "://" in text:
        parts = urlsplit(text)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
        if not parts.hostname or port is None:
            raise ValueError("a URL target needs a host, and a port unless http or https")
        return parts.hostname, port
    parts = urlsplit(f"//{text}")
    if not parts.hostname or parts.port is None or parts.path or parts.username is not None:
        raise ValueError("expected host:port")
    return parts.hostname, parts.port


def url_key(url: str) -> UrlKey | None:
    """What makes two http(s) URLs the same destination and request; None if not such a URL.

    Scheme and host compare case-insensitively and a default port equals its absence; userinfo,
    path (but a trailing slash) and query must be equal. Anything that differs is a different
    target, so the comparison errs towards refusing.
    """
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not parts.hostname or port is None:
        return None
    userinfo = parts.netloc.rpartition("@")[0]
    return (scheme, userinfo, parts.hostname, port, parts.path.rstrip("/"), parts.query)


def join_path(endpoint: str, path: str) -> str:
    """``http://host:port/base`` + ``/health``: endpoints are bases, module paths are absolute."""
    return endpoint.rstrip("/") + path

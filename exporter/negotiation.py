"""What a scraper asked for: the exposition format (``Accept``) and gzip (``Accept-Encoding``)."""

from exporter.series import Format


def negotiate(accept_header: str | None) -> Format:
    for accepted in (accept_header or "").split(","):
        if accepted.split(";")[0].strip() == "application/openmetrics-text":
            return Format.OPENMETRICS
    return Format.TEXT


def accepts_gzip(accept_encoding: str | None) -> bool:
    for coding in (accept_encoding or "").split(","):
        name, _, params = coding.partition(";")
        if name.strip().lower() == "gzip" and params.replace(" ", "") not in ("q=0", "q=0.0"):
            return True
    return False

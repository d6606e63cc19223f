"""Certificate expiry from the peer's DER certificates, with no dependency beyond the stdlib.

``getpeercert()`` is empty when verification is off, and ``cryptography`` is not a runtime
dependency, so the notAfter field is read from the DER encoding directly: it sits at a fixed
place in every X.509 certificate (RFC 5280 §4.1).
"""

import calendar
import ssl
import time
from collections.abc import Sequence

_SEQUENCE = 0x30
_EXPLICIT_VERSION = 0xA0
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18


def _element(der: bytes, offset: int) -> tuple[int, int, int]:
    """Tag, content start and content end of the DER element at ``offset``."""
    if offset + 2 > len(der):
        raise ValueError("truncated certificate")
    tag, length, start = der[offset], der[offset + 1], offset + 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    if start + length > len(der):
        raise ValueError("truncated certificate")
    return tag, start, start + length


def _expect(der: bytes, offset: int, tag: int) -> tuple[int, int]:
    found, start, end = _element(der, offset)
    if found != tag:
        raise ValueError(f"unexpected DER tag {found:#x}, wanted {tag:#x}")
    return start, end


def not_after(der: bytes) -> float:
    """Unix time of the certificate's notAfter; ValueError if ``der`` is not an X.509 certificate."""
    certificate, _ = _expect(der, 0, _SEQUENCE)
    offset, _ = _expect(der, certificate, _SEQUENCE)  # tbsCertificate
    tag, _, end = _element(der, offset)
    if tag == _EXPLICIT_VERSION:
        offset = end
    for _field in ("serialNumber", "signature", "issuer"):
        offset = _element(der, offset)[2]
    validity, _ = _expect(der, offset, _SEQUENCE)
    not_before_end = _element(der, validity)[2]
    tag, start, end = _element(der, not_before_end)
    return _time(tag, der[start:end].decode("ascii"))


def _time(tag: int, text: str) -> float:
    if tag == _UTC_TIME:
        # RFC 5280: two-digit years 50-99 are 19xx, 00-49 are 20xx.
        century = "19" if int(text[:2]) >= 50 else "20"
        text = century + text
    elif tag != _GENERALIZED_TIME:
        raise ValueError(f"unexpected time tag {tag:#x}")
    if not text.endswith("Z"):
        raise ValueError("certificate time is not in UTC")
    return float(calendar.timegm(time.strptime(text[:-1], "%Y%m%d%H%M%S")))


def earliest_expiry(sock: ssl.SSLSocket) -> float | None:
    """The earliest notAfter among the certificates the peer presented.

    blackbox_exporter takes the minimum over the whole chain the server sent. Python exposes
    that chain only from 3.13 (``get_unverified_chain``); before, only the leaf is visible,
    which is the same whenever the leaf expires first, as it usually does.
    """
    return min((not_after(der) for der in _presented(sock)), default=None)


def _presented(sock: ssl.SSLSocket) -> Sequence[bytes]:
    chain = getattr(sock, "get_unverified_chain", None)
    if chain is not None:
        return [bytes(der) for der in chain() or []]
    leaf = sock.getpeercert(binary_form=True)
    return [leaf] if leaf else []

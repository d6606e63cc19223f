"""notAfter read from DER, checked against the cryptography package's parser."""

import datetime

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from collectors.probes.network import not_after


def der_of(cert: trustme.LeafCert) -> bytes:
    loaded = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    return loaded.public_bytes(Encoding.DER)


@pytest.mark.parametrize(
    "when",
    [
        datetime.datetime(2031, 5, 17, 12, 34, 56, tzinfo=datetime.UTC),  # UTCTime
        datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=datetime.UTC),  # last UTCTime year
        datetime.datetime(2051, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),  # GeneralizedTime from 2050
    ],
)
def test_not_after_matches_cryptography(when: datetime.datetime) -> None:
    der = der_of(trustme.CA().issue_cert("127.0.0.1", not_after=when))
    expected = x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()
    assert not_after(der) == expected == when.timestamp()


def test_rsa_certificates_too() -> None:
    cert = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert("x.example", key_type=trustme.KeyType.RSA)
    der = der_of(cert)
    assert not_after(der) == x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()


@pytest.mark.parametrize(
    "garbage", [b"", b"\x30", b"\x30\x03\x02\x01\x01", b"\x04\x00" * 10, b"\x30\x85" + b"\x00" * 9]
)
def test_garbage_is_a_value_error(garbage: bytes) -> None:
    with pytest.raises(ValueError):
        not_after(garbage)

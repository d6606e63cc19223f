"""The server SSL context: file errors that name the key, and real handshakes on 127.0.0.1."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from exporter.webconfig import WebConfigError, WebSSLContext, load_web_config
from tests.unit.web.helpers import (
    MTLS,
    TLS_ONLY,
    Pki,
    client_context,
    der,
    handshake,
    handshakes,
    write_config,
)


def context(pki: Pki, text: str) -> ssl.SSLContext:
    ctx = load_web_config(write_config(pki.directory, text)).ssl_context()
    assert ctx is not None
    return ctx


def load_error(pki: Pki, text: str) -> str:
    with pytest.raises(WebConfigError) as info:
        load_web_config(write_config(pki.directory, text))
    return str(info.value)


def test_tls_handshake_offers_http11_only(pki: Pki) -> None:
    ctx = context(pki, TLS_ONLY)
    assert isinstance(ctx, WebSSLContext)
    assert ctx.verify_mode == ssl.CERT_NONE
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert ctx.maximum_version == ssl.TLSVersion.TLSv1_3
    result = handshake(ctx, client_context(pki.ca))
    assert result.ok, result.error
    assert result.version == "TLSv1.3"
    assert result.alpn == "http/1.1"


def test_the_certificate_served_is_cert_file(pki: Pki) -> None:
    result = handshake(context(pki, TLS_ONLY), client_context(pki.ca), server_hostname="127.0.0.1")
    assert result.ok, result.error
    assert result.peer_der == ssl.PEM_cert_to_DER_cert((pki.directory / "server.pem").read_text())


def test_every_call_builds_a_fresh_context(pki: Pki) -> None:
    config = load_web_config(write_config(pki.directory, TLS_ONLY))
    assert config.ssl_context() is not config.ssl_context()


def test_missing_files_name_the_key(pki: Pki) -> None:
    message = load_error(pki, "tls_server_config: {cert_file: nope.pem, key_file: server.key}")
    assert (
        message
        == f"tls_server_config.cert_file: cannot read {pki.directory}/nope.pem: No such file or directory"
    )
    message = load_error(pki, "tls_server_config: {cert_file: server.pem, key_file: nope.key}")
    assert message.startswith("tls_server_config.key_file: cannot read")
    message = load_error(pki, MTLS.replace("client_ca_file: ca.pem", "client_ca_file: /nonexistent/ca.pem"))
    assert message == (
        "tls_server_config.client_ca_file: cannot read /nonexistent/ca.pem: No such file or directory"
    )


def test_unreadable_file_names_the_key(pki: Pki) -> None:
    (pki.directory / "dir.pem").mkdir()
    message = load_error(pki, "tls_server_config: {cert_file: dir.pem, key_file: server.key}")
    assert message == f"tls_server_config.cert_file: cannot read {pki.directory}/dir.pem: Is a directory"


def test_missing_web_config_file(tmp_path: Path) -> None:
    with pytest.raises(
        WebConfigError, match=r"cannot read web config .*/nope.yml: No such file or directory"
    ):
        load_web_config(tmp_path / "nope.yml")


def test_key_not_matching_the_certificate(pki: Pki) -> None:
    message = load_error(pki, "tls_server_config: {cert_file: server.pem, key_file: other-server.key}")
    assert message.startswith("tls_server_config.key_file: ")
    assert "does not match the certificate" in message


def test_key_of_another_type(pki: Pki) -> None:
    rsa = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert("localhost")
    rsa.private_key_pem.write_to_path(str(pki.directory / "rsa.key"))
    message = load_error(pki, "tls_server_config: {cert_file: server.pem, key_file: rsa.key}")
    assert "tls_server_config.key_file: " in message
    assert "does not match" in message


@pytest.mark.parametrize(
    ("name", "content", "key", "reason"),
    [
        ("cert.pem", "garbage\n", "tls_server_config.cert_file", "no PEM certificate"),
        (
            "cert.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "tls_server_config.cert_file",
            "bad PEM certificate",
        ),
        ("key.pem", "garbage\n", "tls_server_config.key_file", "no PEM private key"),
        (
            "key.pem",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "tls_server_config.key_file",
            "bad PEM private key",
        ),
        ("cert.pem", "\xff\xfe", "tls_server_config.cert_file", "not UTF-8"),
    ],
)
def test_bad_pem_names_the_key(pki: Pki, name: str, content: str, key: str, reason: str) -> None:
    cert, key_file = pki.directory / "cert.pem", pki.directory / "key.pem"
    cert.write_bytes((pki.directory / "server.pem").read_bytes())
    key_file.write_bytes((pki.directory / "server.key").read_bytes())
    (pki.directory / name).write_bytes(content.encode("latin-1"))
    message = load_error(pki, "tls_server_config: {cert_file: cert.pem, key_file: key.pem}")
    assert message.startswith(f"{key}: ")
    assert reason in message


def test_encrypted_key_is_refused_without_prompting(pki: Pki) -> None:
    key = serialization.load_pem_private_key((pki.directory / "server.key").read_bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    (pki.directory / "enc.key").write_bytes(encrypted)
    message = load_error(pki, "tls_server_config: {cert_file: server.pem, key_file: enc.key}")
    assert message.startswith("tls_server_config.key_file: ")
    assert "encrypted" in message


def test_client_ca_without_certificates(pki: Pki) -> None:
    (pki.directory / "ca.pem").write_text("not a certificate\n")
    message = load_error(pki, MTLS)
    assert message.startswith("tls_server_config.client_ca_file: no usable PEM certificate in ")


def test_mtls_admits_only_clients_of_the_ca(pki: Pki) -> None:
    ctx = context(pki, MTLS)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    good = handshake(ctx, client_context(pki.ca, pki.client()))
    assert good.ok, good.error
    other_ca = handshake(ctx, client_context(pki.ca, pki.client(pki.other_ca)))
    assert not other_ca.ok
    no_cert = handshake(ctx, client_context(pki.ca))
    assert not no_cert.ok


def test_mtls_refuses_another_ca_over_tls12_too(pki: Pki) -> None:
    ctx = context(pki, MTLS)
    result = handshake(ctx, client_context(pki.ca, pki.client(pki.other_ca), maximum=ssl.TLSVersion.TLSv1_2))
    assert not result.ok


def test_verify_client_cert_if_given(pki: Pki) -> None:
    ctx = context(pki, MTLS.replace("RequireAndVerifyClientCert", "VerifyClientCertIfGiven"))
    assert ctx.verify_mode == ssl.CERT_OPTIONAL
    results = handshakes(
        ctx,
        [
            client_context(pki.ca),
            client_context(pki.ca, pki.client()),
            client_context(pki.ca, pki.client(pki.other_ca)),
        ],
    )
    assert [r.ok for r in results] == [True, True, False]


def test_client_ca_file_may_hold_an_intermediate_only(pki: Pki) -> None:
    # Go trusts every certificate of ClientCAs as an anchor; so must the Python side.
    intermediate = pki.ca.create_child_ca()
    intermediate.cert_pem.write_to_path(str(pki.directory / "intermediate.pem"))
    ctx = context(pki, MTLS.replace("ca.pem", "intermediate.pem"))
    client = intermediate.issue_cert("client@example.com")
    assert handshake(ctx, client_context(pki.ca, client)).ok
    assert not handshake(ctx, client_context(pki.ca, pki.client())).ok


def test_min_version_tls13_refuses_a_tls12_client(pki: Pki) -> None:
    ctx = context(pki, TLS_ONLY + "  min_version: TLS13\n")
    assert not handshake(ctx, client_context(pki.ca, maximum=ssl.TLSVersion.TLSv1_2)).ok
    assert handshake(ctx, client_context(pki.ca)).ok


def test_max_version_tls12(pki: Pki) -> None:
    ctx = context(pki, TLS_ONLY + "  max_version: TLS12\n")
    result = handshake(ctx, client_context(pki.ca))
    assert result.ok, result.error
    assert result.version == "TLSv1.2"
    assert not handshake(ctx, client_context(pki.ca, minimum=ssl.TLSVersion.TLSv1_3)).ok


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
def test_default_refuses_tls11(pki: Pki) -> None:
    ctx = context(pki, TLS_ONLY)
    old = ssl.TLSVersion.TLSv1_1
    client = client_context(pki.ca, minimum=old, maximum=old, ciphers="DEFAULT:@SECLEVEL=0")
    assert not handshake(ctx, client).ok


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
def test_min_version_tls10_really_admits_tls10(pki: Pki) -> None:
    ctx = context(pki, TLS_ONLY + "  min_version: TLS10\n")
    old = ssl.TLSVersion.TLSv1
    client = client_context(pki.ca, minimum=old, maximum=old, ciphers="DEFAULT:@SECLEVEL=0")
    result = handshake(ctx, client)
    assert result.ok, result.error
    assert result.version == "TLSv1"
    modern = handshake(ctx, client_context(pki.ca))
    assert modern.version == "TLSv1.3"


def test_cipher_suites_limit_tls12(pki: Pki) -> None:
    # trustme's certificates are ECDSA.
    ctx = context(pki, TLS_ONLY + "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n")
    tls12 = ssl.TLSVersion.TLSv1_2
    wants_128 = handshake(ctx, client_context(pki.ca, maximum=tls12, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256"))
    assert not wants_128.ok
    both = client_context(
        pki.ca, maximum=tls12, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"
    )
    result = handshake(ctx, both)
    assert result.ok, result.error
    assert result.cipher == "ECDHE-ECDSA-AES256-GCM-SHA384"
    # TLS 1.3 suites are not configurable, in Go or here.
    assert handshake(ctx, client_context(pki.ca)).version == "TLSv1.3"


def test_a_cbc_sha_suite_works_in_tls12(pki: Pki) -> None:
    ctx = context(pki, TLS_ONLY + "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA]\n")
    result = handshake(
        ctx, client_context(pki.ca, maximum=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-AES128-SHA")
    )
    assert result.ok, result.error
    assert result.cipher == "ECDHE-ECDSA-AES128-SHA"


def test_only_tls13_suites_refuse_tls12(pki: Pki) -> None:
    ctx = context(pki, TLS_ONLY + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n")
    assert not handshake(ctx, client_context(pki.ca, maximum=ssl.TLSVersion.TLSv1_2)).ok
    assert handshake(ctx, client_context(pki.ca)).ok


# Go 1.19's tls.CipherSuites(), the names exporter-toolkit accepts (promtool 2.42 takes each of them).
GO_CIPHER_SUITES = [
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
]


@pytest.mark.parametrize("name", GO_CIPHER_SUITES)
def test_every_go_cipher_suite_name_loads(pki: Pki, name: str) -> None:
    context(pki, TLS_ONLY + f"  cipher_suites: [{name}]\n")


def test_all_go_cipher_suites_at_once(pki: Pki) -> None:
    ctx = context(pki, TLS_ONLY + f"  cipher_suites: [{', '.join(GO_CIPHER_SUITES)}]\n")
    assert handshake(ctx, client_context(pki.ca, maximum=ssl.TLSVersion.TLSv1_2)).ok


@pytest.mark.parametrize("curve", ["CurveP256", "CurveP384", "CurveP521", "X25519"])
def test_curve_preferences(pki: Pki, curve: str) -> None:
    ctx = context(pki, TLS_ONLY + f"  curve_preferences: [{curve}]\n")
    assert handshake(ctx, client_context(pki.ca)).ok


def test_prefer_server_cipher_suites(pki: Pki) -> None:
    assert context(pki, TLS_ONLY).options & ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx = context(pki, TLS_ONLY + "  prefer_server_cipher_suites: false\n")
    assert not ctx.options & ssl.OP_CIPHER_SERVER_PREFERENCE


def test_paths_relative_to_the_config_directory(
    pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_web_config(write_config(pki.directory, TLS_ONLY))
    ctx = config.ssl_context()
    assert ctx is not None
    assert handshake(ctx, client_context(pki.ca)).ok


def test_server_cert_chain_is_served(pki: Pki) -> None:
    intermediate = pki.ca.create_child_ca()
    leaf = intermediate.issue_cert("localhost")
    (pki.directory / "chain.pem").write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(pki.directory / "chain.key"))
    ctx = context(pki, "tls_server_config: {cert_file: chain.pem, key_file: chain.key}")
    result = handshake(ctx, client_context(pki.ca))
    assert result.ok, result.error
    assert result.peer_der == der(leaf)

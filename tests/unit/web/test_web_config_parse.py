"""Parsing exporter-toolkit's web config: every key, and errors that name the key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from exporter.webconfig import (
    ClientAuth,
    HTTPServerConfig,
    TLSServerConfig,
    TLSVersion,
    WebConfig,
    WebConfigError,
    parse_web_config,
)

HASH = "$2b$04$Nh0O6W8dNaHV9HLuFhl9wue9ylTj6p7pfJJ2xN0oFmZc5M5D1I5tW"


def parse(text: str, directory: Path = Path("/etc/web")) -> WebConfig:
    return parse_web_config(textwrap.dedent(text), directory)


def refused(text: str) -> str:
    with pytest.raises(WebConfigError) as info:
        parse(text)
    return str(info.value)


def test_every_key() -> None:
    config = parse(
        f"""\
        tls_server_config:
          cert_file: tls/server.crt
          key_file: /abs/server.key
          client_auth_type: RequireAndVerifyClientCert
          client_ca_file: ../ca.pem
          min_version: TLS13
          max_version: TLS13
          cipher_suites:
            - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
            - TLS_AES_128_GCM_SHA256
          curve_preferences: [X25519]
          prefer_server_cipher_suites: false
        http_server_config:
          http2: false
          headers:
            Strict-Transport-Security: max-age=31536000; includeSubDomains
            X-Content-Type-Options: nosniff
            X-Frame-Options: sameorigin
            X-XSS-Protection: 1; mode=block
            Content-Security-Policy: default-src 'self'
        basic_auth_users:
          alice: {HASH}
          "bob": '{HASH}'
        """
    )
    assert config.tls_server_config == TLSServerConfig(
        cert_file=Path("/etc/web/tls/server.crt"),
        key_file=Path("/abs/server.key"),
        client_auth_type=ClientAuth.REQUIRE_AND_VERIFY_CLIENT_CERT,
        client_ca_file=Path("/etc/web/../ca.pem"),
        min_version=TLSVersion.TLS13,
        max_version=TLSVersion.TLS13,
        cipher_suites=("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"),
        curve_preferences=("X25519",),
        prefer_server_cipher_suites=False,
    )
    assert config.http_server_config == HTTPServerConfig(
        http2=False,
        headers=(
            ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "sameorigin"),
            ("X-XSS-Protection", "1; mode=block"),
            ("Content-Security-Policy", "default-src 'self'"),
        ),
    )
    assert dict(config.basic_auth_users) == {"alice": HASH, "bob": HASH}
    assert config.tls
    assert config.files == (
        Path("/etc/web/tls/server.crt"),
        Path("/abs/server.key"),
        Path("/etc/web/../ca.pem"),
    )
    assert config.notes == ()


def test_defaults() -> None:
    config = parse(
        """\
        tls_server_config:
          cert_file: c.pem
          key_file: k.pem
        """
    )
    tls = config.tls_server_config
    assert tls is not None
    assert tls.client_auth_type is ClientAuth.NO_CLIENT_CERT
    assert tls.client_ca_file is None
    assert (tls.min_version, tls.max_version) == (TLSVersion.TLS12, TLSVersion.TLS13)
    assert tls.prefer_server_cipher_suites
    assert config.http_server_config == HTTPServerConfig(http2=True, headers=())
    assert not config.basic_auth_users


@pytest.mark.parametrize(
    "text", ["", "# nothing\n", "{}", "null", "tls_server_config:\n", "tls_server_config: {}"]
)
def test_empty_means_plain_http(text: str) -> None:
    config = parse(text)
    assert not config.tls
    assert config.ssl_context() is None
    assert config.basic_auth() is None
    assert config.notes == ()


def test_tls_section_without_cert_or_client_auth_is_plain_http_with_a_note() -> None:
    config = parse("tls_server_config: {min_version: TLS13}")
    assert not config.tls
    assert len(config.notes) == 1
    assert "plain HTTP" in config.notes[0]


def test_null_values_keep_defaults() -> None:
    config = parse(
        """\
        tls_server_config:
          cert_file: c.pem
          key_file: k.pem
          client_auth_type:
          min_version: ~
          max_version: null
          cipher_suites:
          prefer_server_cipher_suites:
        http_server_config:
          headers:
        basic_auth_users:
        """
    )
    tls = config.tls_server_config
    assert tls is not None
    assert (tls.min_version, tls.max_version, tls.cipher_suites) == (TLSVersion.TLS12, TLSVersion.TLS13, ())
    assert tls.prefer_server_cipher_suites


def test_yaml_1_1_booleans_and_numbers_as_strings() -> None:
    config = parse(
        """\
        tls_server_config: {cert_file: 5, key_file: k.pem, prefer_server_cipher_suites: no}
        http_server_config: {http2: yes, headers: {Strict-Transport-Security: 31536000}}
        basic_auth_users: {007: HASH}
        """.replace("HASH", HASH)
    )
    tls = config.tls_server_config
    assert tls is not None
    assert tls.cert_file == Path("/etc/web/5")
    assert not tls.prefer_server_cipher_suites
    assert config.http_server_config.headers == (("Strict-Transport-Security", "31536000"),)
    # As written, as Go's yaml.v2 keeps a number's text in a string.
    assert list(config.basic_auth_users) == ["007"]


def test_blank_headers_are_not_sent() -> None:
    config = parse(
        "http_server_config: {headers: {Content-Security-Policy: '', X-Content-Type-Options: nosniff}}"
    )
    assert config.headers == (("X-Content-Type-Options", "nosniff"),)


def test_merge_keys() -> None:
    config = parse(
        """\
        tls_server_config:
          <<: {cert_file: a.pem, key_file: a.key}
          cert_file: b.pem
        http_server_config: &http {http2: false}
        """
    )
    tls = config.tls_server_config
    assert tls is not None
    assert (tls.cert_file.name, tls.key_file.name) == ("b.pem", "a.key")
    assert not config.http_server_config.http2


def test_relative_paths_use_the_config_directory_unresolved(tmp_path: Path) -> None:
    config = parse_web_config("tls_server_config: {cert_file: c.pem, key_file: sub/k.pem}", tmp_path / "link")
    tls = config.tls_server_config
    assert tls is not None
    assert tls.cert_file == tmp_path / "link" / "c.pem"
    assert tls.key_file == tmp_path / "link" / "sub" / "k.pem"


def test_repr_shows_no_hash() -> None:
    config = parse(f"basic_auth_users: {{alice: '{HASH}'}}")
    assert HASH not in repr(config)
    assert HASH[7:20] not in repr(config)


TLS = "tls_server_config: {cert_file: c.pem, key_file: k.pem, "


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo: 1", "foo: unknown key"),
        ("tls_server_config: {certfile: c.pem}", "tls_server_config.certfile: unknown key"),
        ("http_server_config: {http3: true}", "http_server_config.http3: unknown key"),
        ("rate_limit: {burst: 1}", "rate_limit: unknown key: later exporter-toolkit versions"),
        (TLS + "client_allowed_sans: [a]}", "tls_server_config.client_allowed_sans: unknown key: later"),
        ("tls_server_config: {cert: x, key: y}", "tls_server_config.cert: unknown key: later"),
        (TLS + "client_auth_type: Foo}", 'tls_server_config.client_auth_type: unknown value "Foo"'),
        (
            TLS + "client_auth_type: requireandverifyclientcert}",
            "tls_server_config.client_auth_type: unknown value",
        ),
        (
            TLS + "client_auth_type: RequestClientCert}",
            "tls_server_config.client_auth_type: RequestClientCert is not",
        ),
        (
            TLS + "client_auth_type: RequireAnyClientCert}",
            "client_auth_type: RequireAnyClientCert is not supported",
        ),
        (
            TLS + "client_auth_type: RequireClientCert}",
            "client_auth_type: RequireClientCert is not supported",
        ),
        (
            TLS + "client_auth_type: RequireAndVerifyClientCert}",
            "tls_server_config.client_ca_file: required with",
        ),
        (
            TLS + "client_auth_type: VerifyClientCertIfGiven}",
            "tls_server_config.client_ca_file: required with",
        ),
        (TLS + "client_ca_file: ca.pem}", "tls_server_config.client_ca_file: set without a client_auth_type"),
        (TLS + "client_auth_type: NoClientCert, client_ca_file: ca.pem}", "client_ca_file: set without"),
        ("tls_server_config: {cert_file: c.pem}", "tls_server_config.key_file: missing"),
        ("tls_server_config: {key_file: k.pem}", "tls_server_config.cert_file: missing"),
        ("tls_server_config: {cert_file: '', key_file: k.pem}", "tls_server_config.cert_file: missing"),
        ("tls_server_config: {client_auth_type: NoClientCert}", "tls_server_config.cert_file: missing"),
        (TLS + "min_version: TLS14}", 'tls_server_config.min_version: unknown TLS version "TLS14"'),
        (TLS + "max_version: tls12}", 'tls_server_config.max_version: unknown TLS version "tls12"'),
        (TLS + "min_version: 1.2}", 'tls_server_config.min_version: unknown TLS version "1.2"'),
        (TLS + "min_version: TLS13, max_version: TLS12}", "tls_server_config.min_version: TLS13 is above"),
        (
            TLS + "cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]}",
            'cipher_suites: unknown cipher suite "TLS_RSA_WITH_RC4',
        ),
        (
            TLS + "cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256]}",
            "tls_server_config.cipher_suites: unknown cipher",
        ),
        (TLS + "cipher_suites: TLS_AES_128_GCM_SHA256}", "tls_server_config.cipher_suites: must be a list"),
        (TLS + "cipher_suites: [null]}", "tls_server_config.cipher_suites: must be a list of strings"),
        (
            TLS + "cipher_suites: [TLS_AES_128_GCM_SHA256], max_version: TLS12}",
            "tls_server_config.cipher_suites: lists only TLS 1.3 suites",
        ),
        (TLS + "curve_preferences: [X448]}", 'tls_server_config.curve_preferences: unknown curve "X448"'),
        (
            TLS + "curve_preferences: [X25519, CurveP256]}",
            "tls_server_config.curve_preferences: this exporter",
        ),
        (TLS + "prefer_server_cipher_suites: 'true'}", "prefer_server_cipher_suites: must be true or false"),
        (TLS + "prefer_server_cipher_suites: 1}", "prefer_server_cipher_suites: must be true or false"),
        ("http_server_config: {http2: 'yes'}", "http_server_config.http2: must be true or false"),
        (
            "http_server_config: {headers: {Foo: bar}}",
            "http_server_config.headers.Foo: this header cannot be",
        ),
        (
            "http_server_config: {headers: {x-frame-options: deny}}",
            "headers.x-frame-options: this header cannot",
        ),
        (
            "http_server_config: {headers: {X-Frame-Options: DENY}}",
            'headers.X-Frame-Options: invalid value "DENY"',
        ),
        (
            "http_server_config: {headers: {X-Frame-Options: null}}",
            'headers.X-Frame-Options: invalid value ""',
        ),
        (
            "http_server_config: {headers: {X-Content-Type-Options: sniff}}",
            "X-Content-Type-Options: invalid value",
        ),
        (
            "http_server_config: {headers: {Content-Security-Policy: [a]}}",
            "Content-Security-Policy: must be a string",
        ),
        ("http_server_config: {headers: [a]}", "http_server_config.headers: must be a mapping"),
        ("http_server_config: true", "http_server_config: must be a mapping"),
        ("basic_auth_users: [alice]", "basic_auth_users: must be a mapping"),
        ("basic_auth_users: {alice: notahash}", "basic_auth_users.alice: not a bcrypt hash"),
        ("basic_auth_users: {alice: null}", "basic_auth_users.alice: must be a bcrypt hash"),
        ("basic_auth_users: {alice: {a: b}}", "basic_auth_users.alice: must be a string"),
        ("basic_auth_users: {alice: '$2y$03$" + HASH[7:] + "'}", "basic_auth_users.alice: not a bcrypt hash"),
        ("basic_auth_users: {alice: '$2y$32$" + HASH[7:] + "'}", "basic_auth_users.alice: not a bcrypt hash"),
        ("basic_auth_users: {alice: '$2$10$" + HASH[7:] + "'}", "basic_auth_users.alice: not a bcrypt hash"),
        ("basic_auth_users: {alice: '$3a$10$" + HASH[7:] + "'}", "basic_auth_users.alice: not a bcrypt hash"),
        ("basic_auth_users: {alice: '" + HASH + "x'}", "basic_auth_users.alice: not a bcrypt hash"),
        (TLS + "cert_file: other.pem}", "tls_server_config.cert_file: duplicate key"),
        ("basic_auth_users: {a: x}\nbasic_auth_users: {b: y}", "basic_auth_users: duplicate key (line 2)"),
        ("- a", "must be a mapping"),
        ("5", "must be a mapping"),
        ("tls_server_config: [a]", "tls_server_config: must be a mapping"),
        ("{[a]: b}", "keys must be strings"),
        ("tls_server_config: {cert_file: [a], key_file: k}", "tls_server_config.cert_file: must be a string"),
        ("a: b\n---\nc: d\n", "not valid YAML at line 2"),
        ("tls_server_config: {cert_file: c.pem\n", "not valid YAML at line"),
        ("a: 1\n\tb: 2", "not valid YAML at line 2"),
        ("a: *nope", "not valid YAML"),
    ],
)
def test_bad_values_name_the_key(text: str, message: str) -> None:
    assert message in refused(text)


def test_error_carries_key_and_reason() -> None:
    with pytest.raises(WebConfigError) as info:
        parse("tls_server_config: {cert_file: c, key_file: k, client_auth_type: Foo}")
    assert info.value.key == "tls_server_config.client_auth_type"
    assert info.value.reason == 'unknown value "Foo"'
    assert isinstance(info.value, ValueError)


def test_unsupported_client_auth_says_why() -> None:
    message = refused(TLS + "client_auth_type: RequestClientCert, client_ca_file: ca.pem}")
    assert "not supported by this exporter" in message
    assert "without verifying" in message


@pytest.mark.parametrize(
    "text",
    [
        # A hash on a line PyYAML cannot parse: its error would quote the line.
        f"basic_auth_users:\n  alice: {HASH}\n  bob: [{HASH}\n",
        f"basic_auth_users:\n  alice: '{HASH}'x\n",
        f"basic_auth_users: {{alice: '{HASH[:-1]}'}}",
    ],
)
def test_errors_never_quote_a_hash(text: str) -> None:
    message = refused(text)
    assert HASH[7:30] not in message


def test_legacy_tls_is_accepted_with_a_note() -> None:
    config = parse(TLS + "min_version: TLS10}")
    tls = config.tls_server_config
    assert tls is not None
    assert tls.legacy
    assert any("security level 0" in note for note in config.notes)


def test_only_tls13_suites_raise_the_minimum_to_tls13() -> None:
    config = parse(TLS + "cipher_suites: [TLS_AES_256_GCM_SHA384]}")
    tls = config.tls_server_config
    assert tls is not None
    assert tls.min_version is TLSVersion.TLS12
    assert tls.effective_min_version is TLSVersion.TLS13

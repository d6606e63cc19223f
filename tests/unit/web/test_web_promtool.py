"""promtool check web-config (Prometheus 2.42, Debian's) as the reference for the format.

Every shipped example passes both promtool and our loader; every ``.bad.yml`` is refused by both;
and the cases where this exporter is deliberately stricter than exporter-toolkit are pinned, so that
a promtool that starts refusing them too (or our loader accepting them) is noticed.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from exporter.webconfig import WebConfigError, load_web_config
from tests.unit.web.helpers import DATA, EXAMPLES, client_context, handshake

EXAMPLE_USER, EXAMPLE_PASSWORD = "prometheus", "example-password"  # as docs/examples/web/README.md says


def promtool(path: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary is not None, "promtool is missing: scripts/test.sh installs Debian's prometheus package"
    return subprocess.run(
        [binary, "check", "web-config", path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yml"))
BAD_FILES = sorted(DATA.glob("*.bad.yml"))


def test_the_examples_are_there() -> None:
    assert {p.name for p in EXAMPLE_FILES} >= {
        "web-config-tls.yml",
        "web-config-basic-auth.yml",
        "web-config-tls-basic-auth.yml",
        "web-config-mtls.yml",
    }
    assert len(BAD_FILES) >= 10


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_passes_promtool_and_our_loader(path: Path) -> None:
    result = promtool(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr
    config = load_web_config(path)
    assert config.notes == ()


@pytest.mark.parametrize("path", [p for p in EXAMPLE_FILES if "basic-auth" in p.name], ids=lambda p: p.name)
def test_example_hash_is_of_the_documented_password(path: Path) -> None:
    auth = load_web_config(path).basic_auth()
    assert auth is not None
    assert list(auth.users) == [EXAMPLE_USER]
    assert auth.verify(EXAMPLE_USER, EXAMPLE_PASSWORD)
    assert EXAMPLE_PASSWORD in (EXAMPLES / "README.md").read_text()


def test_mtls_example_admits_the_example_client() -> None:
    ctx = load_web_config(EXAMPLES / "web-config-mtls.yml").ssl_context()
    assert ctx is not None
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(EXAMPLES / "example-ca.pem")
    client.load_cert_chain(EXAMPLES / "example-client.pem", EXAMPLES / "example-client.key")
    result = handshake(ctx, client)
    assert result.ok, result.error
    bare = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    bare.load_verify_locations(EXAMPLES / "example-ca.pem")
    assert not handshake(ctx, bare).ok


def test_tls_example_serves_the_example_certificate_for_localhost() -> None:
    ctx = load_web_config(EXAMPLES / "web-config-tls.yml").ssl_context()
    assert ctx is not None
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(EXAMPLES / "example-ca.pem")
    for hostname in ("localhost", "127.0.0.1"):
        assert handshake(ctx, client, server_hostname=hostname).ok


def expectation(path: Path) -> list[str]:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    return first.removeprefix("# expect: ").split(" ... ")


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.name)
def test_bad_file_is_refused_by_promtool_and_our_loader(path: Path) -> None:
    result = promtool(path)
    assert result.returncode != 0, result.stdout
    with pytest.raises(WebConfigError) as info:
        load_web_config(path)
    message, position = str(info.value), 0
    for part in expectation(path):
        found = message.find(part, position)
        assert found >= 0, f"{part!r} not in {message!r}"
        position = found + len(part)


E = str(EXAMPLES)
SERVER = f"cert_file: {E}/example-server.pem, key_file: {E}/example-server.key"

# Accepted by exporter-toolkit (promtool 2.42), refused here: each with the key and why.
STRICTER = [
    (
        f"tls_server_config: {{{SERVER}, client_auth_type: RequestClientCert, "
        f"client_ca_file: {E}/example-ca.pem}}",
        "tls_server_config.client_auth_type: RequestClientCert is not supported",
    ),
    (
        f"tls_server_config: {{{SERVER}, client_auth_type: RequireAnyClientCert}}",
        "tls_server_config.client_auth_type: RequireAnyClientCert is not supported",
    ),
    (
        f"tls_server_config: {{{SERVER}, client_auth_type: RequireClientCert}}",
        "tls_server_config.client_auth_type: RequireClientCert is not supported",
    ),
    (
        f"tls_server_config: {{{SERVER}, client_auth_type: RequireAndVerifyClientCert}}",
        "tls_server_config.client_ca_file: required with client_auth_type RequireAndVerifyClientCert",
    ),
    (
        f"tls_server_config: {{{SERVER}, client_auth_type: VerifyClientCertIfGiven}}",
        "tls_server_config.client_ca_file: required with client_auth_type VerifyClientCertIfGiven",
    ),
    (
        f"tls_server_config: {{{SERVER}, client_auth_type: RequireAndVerifyClientCert, "
        f"client_ca_file: {E}/README.md}}",
        "tls_server_config.client_ca_file: no usable PEM certificate",
    ),
    (
        f"tls_server_config: {{{SERVER}, curve_preferences: [X25519, CurveP256]}}",
        "tls_server_config.curve_preferences: this exporter accepts one curve only",
    ),
    (
        f"tls_server_config: {{{SERVER}, min_version: TLS13, max_version: TLS12}}",
        "tls_server_config.min_version: TLS13 is above max_version TLS12",
    ),
    (
        f"tls_server_config: {{{SERVER}, max_version: TLS12, cipher_suites: [TLS_AES_128_GCM_SHA256]}}",
        "tls_server_config.cipher_suites: lists only TLS 1.3 suites",
    ),
    (
        f"tls_server_config: {{{SERVER}, cipher_suites: [null]}}",
        "tls_server_config.cipher_suites: must be a list of strings",
    ),
    (
        "basic_auth_users: {prometheus: '$2y$10$!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'}",
        "basic_auth_users.prometheus: not a bcrypt hash",
    ),
    (
        "basic_auth_users: {prometheus: '$2$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi'}",
        "basic_auth_users.prometheus: not a bcrypt hash",
    ),
    (
        f"tls_server_config: {{{SERVER}}}\n---\nfoo: 1",
        "not valid YAML at line 2",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), STRICTER, ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(STRICTER)]
)
def test_where_this_exporter_is_stricter_than_promtool(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "web.yml"
    path.write_text(text + "\n")
    result = promtool(path)
    assert result.returncode == 0, result.stdout + result.stderr
    with pytest.raises(WebConfigError) as info:
        load_web_config(path)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tls_server_config: {}",
        "tls_server_config: {min_version: TLS13}",
        "http_server_config: {http2: false, headers: {Strict-Transport-Security: 5}}",
        pytest.param(
            f"tls_server_config: {{{SERVER}, min_version: TLS10}}",
            marks=pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning"),
        ),
        f"tls_server_config: {{{SERVER}, min_version: }}",
        f"tls_server_config: {{{SERVER}, cipher_suites: [TLS_AES_128_GCM_SHA256]}}",
        f"tls_server_config: {{{SERVER}, curve_preferences: [CurveP521], prefer_server_cipher_suites: no}}",
        "basic_auth_users: {5: '$2x$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi'}",
        "tls_server_config:\n  <<: {cert_file: x.pem}\n  cert_file: "
        + E
        + "/example-server.pem\n  key_file: "
        + E
        + "/example-server.key",
    ],
)
def test_edge_cases_both_accept(tmp_path: Path, text: str) -> None:
    path = tmp_path / "web.yml"
    path.write_text(text + "\n")
    result = promtool(path)
    assert result.returncode == 0, result.stdout + result.stderr
    load_web_config(path)


def test_client_certificate_file_is_usable_by_clients() -> None:
    client = client_context([])
    client.load_cert_chain(EXAMPLES / "example-client.pem", EXAMPLES / "example-client.key")

"""The TCP prober: connect, optionally TLS with the certificate expiry; the address preference."""

import socket
from pathlib import Path
from typing import Any

import pytest

from collectors.probes.config import ModuleConfig, TLSConfig
from collectors.probes.modules import compile_module
from collectors.probes.network import Dialer, tls_context
from collectors.probes.targets import ProbeResult
from tests.unit.probes.servers import Certificates, LoopbackServer


def probe(target: str, **config: Any) -> ProbeResult:
    return compile_module("tcp", ModuleConfig.model_validate({"prober": "tcp", **config}), {}).run(target)


def test_connect_succeeds_and_reports_no_http_metrics() -> None:
    with LoopbackServer() as server:
        result = probe(f"127.0.0.1:{server.port}")
    assert (result.prober, result.success, result.status_code, result.cert_expiry) == ("tcp", True, 0, None)
    assert not result.phases


def test_refused_and_unparsable_targets_fail() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert not probe(f"127.0.0.1:{port}").success
    assert not probe("no-port-here").success


def test_tls_reports_the_expiry(tls_server: LoopbackServer, certificates: Certificates) -> None:
    result = probe(
        f"127.0.0.1:{tls_server.port}", tls=True, tls_config={"ca_file": str(certificates.ca_file)}
    )
    assert result.success and result.cert_expiry == certificates.expiry
    # A URL works too: its host and port are used.
    assert probe(tls_server.url("/ignored"), tls=True, tls_config={"insecure_skip_verify": True}).success


def test_tls_against_an_untrusted_certificate_fails(tls_server: LoopbackServer) -> None:
    result = probe(f"127.0.0.1:{tls_server.port}", tls=True)
    assert not result.success and result.cert_expiry is None


Info = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]
V6: Info = (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:db8::1", 80, 0, 0))
V4: Info = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", 80))


@pytest.mark.parametrize(
    ("preferred", "fallback", "answers", "expected"),
    [
        ("ip6", True, [V4, V6], V6),  # preference wins over resolver order
        ("ip6", True, [V4], V4),  # fallback
        ("ip4", True, [V6, V4], V4),
        ("ip4", True, [V6], V6),
    ],
)
def test_address_family_preference(
    monkeypatch: pytest.MonkeyPatch, preferred: str, fallback: bool, answers: list[Info], expected: Info
) -> None:
    asked: list[int] = []

    def fake_getaddrinfo(host: str, port: int, family: int = 0, type: int = 0) -> list[Info]:
        asked.append(family)
        return answers

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    dialer = Dialer(preferred, fallback, tls_context(TLSConfig()))
    assert dialer.resolve("svc.example", 80) == (expected[0], expected[4])
    assert asked == [socket.AF_UNSPEC]


def test_without_fallback_only_the_preferred_family_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def fake_getaddrinfo(host: str, port: int, family: int = 0, type: int = 0) -> list[Info]:
        asked.append(family)
        return [V4]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    Dialer("ip4", False, tls_context(TLSConfig())).resolve("svc.example", 80)
    assert asked == [socket.AF_INET]


def test_tls_context_loads_a_client_certificate(tmp_path: Path, certificates: Certificates) -> None:
    cert = tmp_path / "client.pem"
    certificates.ca.issue_cert("client.example").private_key_and_cert_chain_pem.write_to_path(str(cert))
    context = tls_context(TLSConfig(cert_file=cert, ca_file=certificates.ca_file))
    assert context.verify_mode.name == "CERT_REQUIRED"

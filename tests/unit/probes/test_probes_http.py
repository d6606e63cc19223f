"""The HTTP prober against loopback servers: blackbox's semantics, phases, deadlines, TLS."""

import base64
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from collectors.probes.config import ModuleConfig
from collectors.probes.modules import compile_module
from collectors.probes.targets import PHASES, ProbeResult
from exporter.config_errors import SectionError
from tests.unit.probes.servers import SLOW_SECONDS, Certificates, LoopbackServer


def probe(url: str, environ: dict[str, str] | None = None, **config: Any) -> ProbeResult:
    module = compile_module("test", ModuleConfig.model_validate(config), environ or {})
    return module.run(url)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("path", "success", "status"),
    [("/ok", True, 200), ("/notfound", False, 404), ("/error", False, 500)],
)
def test_default_module_accepts_2xx_only(
    server: LoopbackServer, path: str, success: bool, status: int
) -> None:
    result = probe(server.url(path))
    assert (result.prober, result.success, result.status_code) == ("http", success, status)
    assert set(result.phases) == set(PHASES)
    assert result.cert_expiry is None
    assert result.phases["tls"] == 0.0
    assert result.phases["processing"] > 0 and result.phases["transfer"] > 0
    assert sum(result.phases.values()) <= result.duration


def test_valid_status_codes_replace_2xx(server: LoopbackServer) -> None:
    assert probe(server.url("/notfound"), valid_status_codes=[404]).success
    assert not probe(server.url("/ok"), valid_status_codes=[404]).success


def test_redirects_are_followed_and_the_final_status_counts(server: LoopbackServer) -> None:
    followed = probe(server.url("/redirect"))
    assert (followed.success, followed.status_code) == (True, 200)
    assert probe(server.url("/to-error")).status_code == 500
    not_followed = probe(server.url("/redirect"), follow_redirects=False)
    assert (not_followed.success, not_followed.status_code) == (False, 302)


def test_phases_add_up_over_redirects(server: LoopbackServer) -> None:
    before = len(server.seen)
    result = probe(server.url("/redirect"))
    assert [path for _, path, _, _ in server.seen[before:]] == ["/redirect", "/ok"]
    assert result.phases["connect"] > 0 and result.phases["processing"] > 0


def test_a_redirect_loop_stops_after_ten_redirects(server: LoopbackServer) -> None:
    before = len(server.seen)
    result = probe(server.url("/loop"))
    assert (result.success, result.status_code) == (False, 302)
    assert len(server.seen) - before == 11  # the first request and ten redirects, as Go's client


def test_303_turns_a_post_into_a_get(server: LoopbackServer) -> None:
    before = len(server.seen)
    result = probe(server.url("/see-other"), method="POST", body="hello")
    assert result.success
    assert [(m, p, b) for m, p, _, b in server.seen[before:]] == [
        ("POST", "/see-other", b"hello"),
        ("GET", "/ok", b""),
    ]


def test_body_regexps(server: LoopbackServer) -> None:
    assert probe(server.url("/healthy"), fail_if_body_not_matches_regexp=["status: ok"]).success
    mismatch = probe(server.url("/degraded"), fail_if_body_not_matches_regexp=["status: ok"])
    assert (mismatch.success, mismatch.status_code) == (False, 200)
    assert "did not match" in mismatch.failure
    assert not probe(server.url("/degraded"), fail_if_body_matches_regexp=["degr.ded"]).success
    assert probe(server.url("/healthy"), fail_if_body_matches_regexp=["degraded"]).success
    # Regexps judge only a response whose status passed.
    assert not probe(server.url("/error"), fail_if_body_matches_regexp=["nothing"]).success


def test_a_server_slower_than_the_timeout_fails_at_the_timeout(server: LoopbackServer) -> None:
    started = time.monotonic()
    result = probe(server.url("/slow"), timeout="500ms")
    elapsed = time.monotonic() - started
    assert (result.success, result.status_code) == (False, 0)
    assert "timed out" in result.failure
    assert elapsed < SLOW_SECONDS - 1


def test_a_trickling_body_cannot_outlast_the_deadline(server: LoopbackServer) -> None:
    started = time.monotonic()
    result = probe(server.url("/trickle"), timeout="1s")
    assert time.monotonic() - started < 2.0  # 100 bytes at 0.3 s each would take 30 s
    assert not result.success
    assert result.status_code == 200  # the head arrived; as in blackbox, the status stays


def test_a_refused_port_has_status_0() -> None:
    result = probe(f"http://127.0.0.1:{closed_port()}/")
    assert (result.success, result.status_code) == (False, 0)
    assert "Connection refused" in result.failure


def test_method_headers_and_environment_headers_are_sent(server: LoopbackServer) -> None:
    before = len(server.seen)
    result = probe(
        server.url("/ok?x=1"),
        environ={"PROBE_TOKEN": "s3cret"},
        method="head",
        headers={"X-Probe": "yes", "Host": "api.example.com"},
        headers_from_env={"Authorization": "PROBE_TOKEN"},
    )
    assert result.success
    ((method, path, headers, _),) = server.seen[before:]
    assert (method, path) == ("HEAD", "/ok?x=1")
    assert headers["X-Probe"] == "yes" and headers["Authorization"] == "s3cret"
    assert headers["Host"] == "api.example.com"
    assert headers["User-Agent"].startswith("skyserve-exporter/")


def test_userinfo_in_the_url_is_basic_auth(server: LoopbackServer) -> None:
    before = len(server.seen)
    url = server.url("/ok").replace("http://", "http://user:p%40ss@")
    assert probe(url).success
    ((_, _, headers, _),) = server.seen[before:]
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert headers["Host"] == f"127.0.0.1:{server.port}"


def test_failures_never_repeat_credentials() -> None:
    result = probe(f"http://user:hunter2@127.0.0.1:{closed_port()}/")
    assert "hunter2" not in result.failure


def test_tls_with_a_private_ca_reports_the_certificate_expiry(
    tls_server: LoopbackServer, certificates: Certificates
) -> None:
    result = probe(tls_server.url("/ok"), tls_config={"ca_file": str(certificates.ca_file)})
    assert (result.success, result.status_code) == (True, 200)
    assert result.cert_expiry == certificates.expiry
    assert result.phases["tls"] > 0


def test_tls_verification_failure_has_no_expiry(tls_server: LoopbackServer) -> None:
    result = probe(tls_server.url("/ok"))
    assert (result.success, result.status_code, result.cert_expiry) == (False, 0, None)
    assert "CERTIFICATE_VERIFY_FAILED" in result.failure


def test_insecure_skip_verify_still_reads_the_expiry(
    tls_server: LoopbackServer, certificates: Certificates
) -> None:
    result = probe(tls_server.url("/ok"), tls_config={"insecure_skip_verify": True})
    assert result.success and result.cert_expiry == certificates.expiry


def test_server_name_is_checked_against_the_certificate(
    tls_server: LoopbackServer, certificates: Certificates
) -> None:
    tls = {"ca_file": str(certificates.ca_file), "server_name": "other.example"}
    result = probe(tls_server.url("/ok"), tls_config=tls)
    assert not result.success and "CERTIFICATE_VERIFY_FAILED" in result.failure


def test_missing_tls_files_are_config_errors_naming_each_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with pytest.raises(SectionError) as raised:
        probe("https://127.0.0.1/", tls_config={"ca_file": str(missing), "cert_file": str(missing)})
    assert raised.value.problems == (
        ("modules.test.tls_config.ca_file", f"{missing}: cannot read: No such file or directory"),
        ("modules.test.tls_config.cert_file", f"{missing}: cannot read: No such file or directory"),
    )


def test_a_file_that_is_no_certificate_is_a_config_error(tmp_path: Path) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(SectionError) as raised:
        probe("https://127.0.0.1/", tls_config={"ca_file": str(garbage)})
    ((key, reason),) = raised.value.problems
    assert key == "modules.test.tls_config"
    assert reason.startswith("cannot load certificates: ")


def test_a_missing_environment_variable_is_a_config_error() -> None:
    with pytest.raises(SectionError) as raised:
        probe("http://127.0.0.1/", headers_from_env={"Authorization": "NOPE"})
    assert raised.value.problems == (("modules.test.headers_from_env.Authorization", "$NOPE is not set"),)


def test_a_non_http_url_fails_the_probe_not_the_round() -> None:
    result = probe("ftp://127.0.0.1/file")
    assert not result.success and result.status_code == 0

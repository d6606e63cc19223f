"""Parity with the real blackbox_exporter (Debian's package) on the same loopback targets.

Both probe the same servers with equivalent modules: a 200, a 404, a 500, redirects (followed,
not followed, a loop), body regexps, a server slower than the timeout, a refused port, TLS with
a certificate expiring at a known time (trusted, untrusted, unverified) and plain/TLS TCP. Success,
status code and certificate expiry must agree, and must be what the case says. Ours is the real
exporter process answering ``/probe`` for its configured target names.
"""

import datetime
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import trustme
import yaml

from tests.integration.harness import Exporter, Process, free_port, parse_samples, require_binary, wait_for

pytestmark = pytest.mark.integration

NOT_AFTER = datetime.datetime(2031, 5, 17, 12, 34, 56, tzinfo=datetime.UTC)
EXPIRY = NOT_AFTER.timestamp()
SLOW_SECONDS = 3.0
ROUTES: dict[str, tuple[int, bytes, dict[str, str]]] = {
    "/ok": (200, b"ok", {}),
    "/healthy": (200, b"status: ok", {}),
    "/degraded": (200, b"status: degraded", {}),
    "/notfound": (404, b"not found", {}),
    "/error": (500, b"boom", {}),
    "/redirect": (302, b"", {"Location": "/ok"}),
    "/loop": (302, b"", {"Location": "/loop"}),
    "/slow": (200, b"late", {}),
    "/canary": (200, b"fetched", {}),
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        if self.path == "/slow":
            self.server.released.wait(SLOW_SECONDS)
        status, body, headers = ROUTES.get(self.path, (404, b"", {}))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.paths: list[str] = []
        self.released = threading.Event()
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that refuse the certificate hang up mid-handshake, on purpose


@dataclass(frozen=True)
class Servers:
    plain: _Server
    tls: _Server
    closed_port: int
    ca_file: Path

    def url(self, path: str, tls: bool = False) -> str:
        server = self.tls if tls else self.plain
        return f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}{path}"


@dataclass(frozen=True)
class Case:
    name: str
    target: str  # what blackbox is asked to probe (and our static target's URL)
    module: str
    success: bool
    status: int | None  # None: a tcp probe, no status
    expiry: bool = False


def cases(s: Servers) -> list[Case]:
    tls_port, closed = s.tls.server_address[1], s.closed_port
    return [
        Case("http-200", s.url("/ok"), "http_2xx", True, 200),
        Case("http-404", s.url("/notfound"), "http_2xx", False, 404),
        Case("http-500", s.url("/error"), "http_2xx", False, 500),
        Case("redirect-followed", s.url("/redirect"), "http_2xx", True, 200),
        Case("redirect-not-followed", s.url("/redirect"), "http_no_redirect", False, 302),
        Case("redirect-loop", s.url("/loop"), "http_2xx", False, 302),
        Case("body-matches", s.url("/healthy"), "http_body_must_match", True, 200),
        Case("body-mismatch", s.url("/degraded"), "http_body_must_match", False, 200),
        Case("body-must-not-match", s.url("/degraded"), "http_body_must_not_match", False, 200),
        Case("slower-than-timeout", s.url("/slow"), "http_1s", False, 0),
        Case("refused-port", f"http://127.0.0.1:{closed}/", "http_2xx", False, 0),
        Case("tls-trusted", s.url("/ok", tls=True), "http_tls", True, 200, expiry=True),
        Case("tls-untrusted", s.url("/ok", tls=True), "http_2xx", False, 0),
        Case("tls-unverified", s.url("/ok", tls=True), "http_insecure", True, 200, expiry=True),
        Case("tcp", f"127.0.0.1:{s.plain.server_address[1]}", "tcp_connect", True, None),
        Case("tcp-refused", f"127.0.0.1:{closed}", "tcp_connect", False, None),
        Case("tcp-tls", f"127.0.0.1:{tls_port}", "tcp_tls", True, None, expiry=True),
    ]


def blackbox_modules(ca_file: Path) -> dict[str, object]:
    tls = {"tls_config": {"ca_file": str(ca_file)}}
    return {
        "http_2xx": {"prober": "http", "timeout": "2s"},
        "http_no_redirect": {"prober": "http", "timeout": "2s", "http": {"follow_redirects": False}},
        "http_body_must_match": {
            "prober": "http",
            "timeout": "2s",
            "http": {"fail_if_body_not_matches_regexp": ["status: ok"]},
        },
        "http_body_must_not_match": {
            "prober": "http",
            "timeout": "2s",
            "http": {"fail_if_body_matches_regexp": ["degraded"]},
        },
        "http_1s": {"prober": "http", "timeout": "1s"},
        "http_tls": {"prober": "http", "timeout": "2s", "http": tls},
        "http_insecure": {
            "prober": "http",
            "timeout": "2s",
            "http": {"tls_config": {"insecure_skip_verify": True}},
        },
        "tcp_connect": {"prober": "tcp", "timeout": "2s"},
        "tcp_tls": {"prober": "tcp", "timeout": "2s", "tcp": {"tls": True, **tls}},
    }


def our_modules(ca_file: Path) -> dict[str, object]:
    """The same modules in our flat shape: blackbox's ``http:``/``tcp:`` keys moved up a level."""
    flat: dict[str, object] = {}
    for name, module in blackbox_modules(ca_file).items():
        assert isinstance(module, dict)
        settings = module.get("http") or module.get("tcp") or {}
        flat[name] = {"prober": module["prober"], "timeout": module["timeout"], **settings}
    return flat


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    ca = trustme.CA()
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", not_after=NOT_AFTER).configure_cert(context)
    plain, tls = _Server(None), _Server(context)
    threads = [threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True) for s in (plain, tls)]
    for thread in threads:
        thread.start()
    try:
        yield Servers(plain, tls, free_port(), ca_file)
    finally:
        for server in (plain, tls):
            server.released.set()
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def blackbox(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("blackbox")
    config = tmp / "blackbox.yml"
    config.write_text(yaml.safe_dump({"modules": blackbox_modules(servers.ca_file)}))
    url = f"http://127.0.0.1:{free_port()}"
    argv = [
        require_binary("prometheus-blackbox-exporter"),
        f"--config.file={config}",
        f"--web.listen-address={url.removeprefix('http://')}",
    ]
    process = Process(argv, tmp / "blackbox.log")
    try:
        wait_for(lambda: _answers(f"{url}/-/healthy"), 30, "blackbox_exporter to listen")
        yield url
    finally:
        process.stop()


@pytest.fixture(scope="module")
def ours(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exporter]:
    tmp = tmp_path_factory.mktemp("ours")
    targets = [{"name": c.name, "url": c.target, "module": c.module} for c in cases(servers)]
    probes = {"interval": "1h", "modules": our_modules(servers.ca_file), "targets": targets}
    config = tmp / "config.yml"
    config.write_text(yaml.safe_dump({"collectors": {"probes": probes}}))
    exporter = Exporter(["--config", str(config)], tmp)
    try:
        exporter.wait_ready()
        yield exporter
    finally:
        exporter.stop()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def probe(url: str, target: str, module: str = "") -> dict[str, float]:
    params = {"target": target, **({"module": module} if module else {})}
    response = requests.get(f"{url}/probe", params=params, timeout=10)
    assert response.status_code == 200, response.text
    found = parse_samples(response.text)
    assert not [labels for _, labels in found if "target" in dict(labels)], "target labels"
    return {name: value for (name, labels), value in found.items() if not labels}


def verdict(samples: dict[str, float]) -> tuple[float, float | None, float | None]:
    return (
        samples["probe_success"],
        samples.get("probe_http_status_code"),
        samples.get("probe_ssl_earliest_cert_expiry"),
    )


def test_success_status_and_expiry_agree_with_blackbox(
    servers: Servers, blackbox: str, ours: Exporter
) -> None:
    rows = ["| case | blackbox (success, status, expiry) | ours |", "|---|---|---|"]
    mismatches = []
    for case in cases(servers):
        theirs = verdict(probe(blackbox, case.target, case.module))
        mine = verdict(probe(ours.url, case.name))
        expected = (1.0 if case.success else 0.0, case.status, EXPIRY if case.expiry else None)
        rows.append(f"| {case.name} | {theirs} | {mine} |")
        if not theirs == mine == expected:
            mismatches.append(f"{case.name}: blackbox {theirs}, ours {mine}, expected {expected}")
    print("\n".join(rows))
    assert not mismatches, "\n".join(mismatches)


def test_metrics_agree_with_probe(servers: Servers, ours: Exporter) -> None:
    found = ours.samples()
    for case in cases(servers):
        labels = (("kind", "static"), ("replica_id", ""), ("service_name", ""), ("target", case.name))
        assert found[("skyserve_probe_success", labels)] == (1.0 if case.success else 0.0), case.name
        if case.status is not None:
            assert found[("skyserve_probe_http_status_code", labels)] == case.status, case.name
        expiry = found.get(("skyserve_probe_ssl_earliest_cert_expiry_timestamp_seconds", labels))
        assert expiry == (EXPIRY if case.expiry else None), case.name


def test_blackbox_is_an_open_proxy_and_ours_is_not(servers: Servers, blackbox: str, ours: Exporter) -> None:
    canary = servers.url("/canary")
    before = servers.plain.paths.count("/canary")
    assert probe(blackbox, canary, "http_2xx")["probe_success"] == 1  # fetched what it was told to
    assert servers.plain.paths.count("/canary") == before + 1
    for target in (
        canary,
        cases(servers)[0].target,
        cases(servers)[0].target.replace("http://", "http://u@"),
    ):
        response = requests.get(f"{ours.url}/probe", params={"target": target}, timeout=10)
        assert response.status_code == 400, target
    assert servers.plain.paths.count("/canary") == before + 1

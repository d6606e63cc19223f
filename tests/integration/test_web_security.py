"""A real Prometheus scraping the exporter over TLS with basic auth, and with client certificates."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import requests
import trustme

from tests.integration.harness import Exporter, Process, free_port, require_binary, wait_for

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-scrape"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _write_pems(tmp_path: Path, ca: trustme.CA) -> dict[str, Path]:
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("prometheus@example.test")
    stranger = trustme.CA().issue_cert("prometheus@example.test")
    files = {
        "ca": tmp_path / "ca.pem",
        "server": tmp_path / "server.pem",
        "client": tmp_path / "client.pem",
        "stranger": tmp_path / "stranger.pem",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    server.private_key_and_cert_chain_pem.write_to_path(str(files["server"]))
    client.private_key_and_cert_chain_pem.write_to_path(str(files["client"]))
    stranger.private_key_and_cert_chain_pem.write_to_path(str(files["stranger"]))
    return files


def _exporter(tmp_path: Path, name: str, web_config: str) -> Exporter:
    path = tmp_path / f"{name}.yml"
    path.write_text(web_config)
    return Exporter(["--web.config.file", str(path)], tmp_path)


@pytest.fixture
def pems(tmp_path: Path, ca: trustme.CA) -> dict[str, Path]:
    return _write_pems(tmp_path, ca)


@pytest.fixture
def secured(tmp_path: Path, pems: dict[str, Path]) -> Iterator[tuple[Exporter, Exporter]]:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(8)).decode()
    tls = f"tls_server_config: {{cert_file: {pems['server']}, key_file: {pems['server']}}}\n"
    basic = _exporter(tmp_path, "basic", tls + f"basic_auth_users: {{prometheus: '{hashed}'}}\n")
    mtls = _exporter(
        tmp_path,
        "mtls",
        f"tls_server_config: {{cert_file: {pems['server']}, key_file: {pems['server']},"
        f" client_auth_type: RequireAndVerifyClientCert, client_ca_file: {pems['ca']}}}\n",
    )
    try:
        for exporter in (basic, mtls):
            _wait_serving(exporter, pems)
        yield basic, mtls
    finally:
        basic.stop()
        mtls.stop()


def _wait_serving(exporter: Exporter, pems: dict[str, Path]) -> None:
    def serving() -> bool:
        if exporter.proc.poll() is not None:
            raise AssertionError(f"exporter exited:\n{exporter.log()}")
        try:
            requests.get(
                f"https://127.0.0.1:{exporter.port}/-/healthy",
                verify=str(pems["ca"]),
                cert=str(pems["client"]),
                timeout=2,
            )
        except requests.RequestException:
            return False
        return True

    wait_for(serving, 30, "the exporter to serve TLS")


def _prometheus(
    tmp_path: Path, basic_port: int, mtls_port: int, pems: dict[str, Path]
) -> tuple[Process, str]:
    ca = pems["ca"]
    jobs = {
        "tls_basic_auth": (
            basic_port,
            f"scheme: https\n    tls_config: {{ca_file: {ca}}}\n"
            f"    basic_auth: {{username: prometheus, password: {PASSWORD}}}\n",
        ),
        "tls_no_credentials": (basic_port, f"scheme: https\n    tls_config: {{ca_file: {ca}}}\n"),
        "tls_wrong_password": (
            basic_port,
            f"scheme: https\n    tls_config: {{ca_file: {ca}}}\n"
            "    basic_auth: {username: prometheus, password: guess}\n",
        ),
        "plain_http": (basic_port, "scheme: http\n"),
        "client_certificate": (
            mtls_port,
            f"scheme: https\n    tls_config: {{ca_file: {ca}, cert_file: {pems['client']},"
            f" key_file: {pems['client']}}}\n",
        ),
        "client_certificate_of_another_ca": (
            mtls_port,
            f"scheme: https\n    tls_config: {{ca_file: {ca}, cert_file: {pems['stranger']},"
            f" key_file: {pems['stranger']}}}\n",
        ),
    }
    config = "global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n"
    for job, (port, settings) in jobs.items():
        config += (
            f"  - job_name: {job}\n    {settings}    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        )
    (tmp_path / "prometheus.yml").write_text(config)
    port = free_port()
    argv = [
        require_binary("prometheus"),
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return Process(argv, tmp_path / "prometheus.log"), f"http://127.0.0.1:{port}"


def _targets(url: str) -> dict[str, dict[str, Any]]:
    try:
        response = requests.get(f"{url}/api/v1/targets", timeout=5)
        active = response.json()["data"]["activeTargets"]
    except (requests.RequestException, ValueError, KeyError):
        return {}
    return {target["labels"]["job"]: target for target in active}


def test_prometheus_scrapes_over_tls_with_basic_auth_and_client_certificates(
    tmp_path: Path, secured: tuple[Exporter, Exporter], pems: dict[str, Path]
) -> None:
    basic, mtls = secured
    prometheus, url = _prometheus(tmp_path, basic.port, mtls.port, pems)
    try:

        def all_scraped() -> dict[str, dict[str, Any]] | None:
            targets = _targets(url)
            scraped = len(targets) == 6 and all(t["health"] != "unknown" for t in targets.values())
            return targets if scraped else None

        targets = wait_for(all_scraped, 60, "Prometheus to scrape every job", step=0.5)
        health = {job: target["health"] for job, target in targets.items()}
        assert health == {
            "tls_basic_auth": "up",
            "tls_no_credentials": "down",
            "tls_wrong_password": "down",
            "plain_http": "down",
            "client_certificate": "up",
            "client_certificate_of_another_ca": "down",
        }, {job: t["lastError"] for job, t in targets.items()}
        assert "401" in targets["tls_no_credentials"]["lastError"]
        assert "401" in targets["tls_wrong_password"]["lastError"]
    finally:
        prometheus.stop()
    for exporter in (basic, mtls):
        assert PASSWORD not in exporter.log()


def test_a_bad_web_config_refuses_to_start_naming_the_key(tmp_path: Path, pems: dict[str, Path]) -> None:
    path = tmp_path / "web.yml"
    tls = f"cert_file: {pems['server']}, key_file: {pems['server']}, client_auth_type: Maybe"
    path.write_text(f"tls_server_config: {{{tls}}}\n")
    exporter = Exporter(["--web.config.file", str(path)], tmp_path)
    assert exporter.proc.wait(30) == 2
    log = exporter.log()
    assert "tls_server_config.client_auth_type" in log and "Traceback" not in log

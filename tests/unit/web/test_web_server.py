"""The HTTP server under a web config that changes while it runs: rotation, auth, headers, TLS on/off."""

import base64
import http.client
import logging
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from exporter.server import HTTPServer
from exporter.webconfig import WebConfigWatcher
from tests.unit.framework.fakes import metrics_app
from tests.unit.web.helpers import Pki, write_config

HOST = "127.0.0.1"
LOG = logging.getLogger("test")


class Served:
    def __init__(self, pki: Pki, config: Path) -> None:
        self.pki = pki
        self.config = config
        self.watcher = WebConfigWatcher(config, LOG, check_interval=0.05)
        self.server = HTTPServer(metrics_app(), f"{HOST}:0", LOG, web=self.watcher)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def context(self, client_cert: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki.directory / "ca.pem"))
        if client_cert:
            self.pki.client().configure_cert(context)
        return context

    def get(
        self,
        tls: bool = True,
        user: str | None = None,
        password: str = "",
        context: ssl.SSLContext | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        if tls:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                HOST, self.server.port, timeout=5, context=context or self.context()
            )
        else:
            conn = http.client.HTTPConnection(HOST, self.server.port, timeout=5)
        headers = {}
        if user is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        try:
            conn.request("GET", "/metrics", headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def served_certificate(self) -> bytes:
        with (
            socket.create_connection((HOST, self.server.port), timeout=5) as sock,
            self.context().wrap_socket(sock, server_hostname="127.0.0.1") as tls,
        ):
            der = tls.getpeercert(binary_form=True)
        assert der is not None
        return der


def _serve(pki: Pki, text: str) -> Iterator[Served]:
    served = Served(pki, write_config(pki.directory, text))
    served.thread.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, served.server.port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.02)
    yield served
    served.server.stop()
    served.thread.join(10)


HASH_COST_4 = bcrypt.hashpw(b"pw-four", bcrypt.gensalt(4)).decode()
HASH_COST_12 = bcrypt.hashpw(b"pw-twelve", bcrypt.gensalt(12)).decode()


@pytest.fixture
def basic_tls(pki: Pki) -> Iterator[Served]:
    yield from _serve(
        pki,
        f"""\
        tls_server_config: {{cert_file: server.pem, key_file: server.key}}
        http_server_config:
          headers: {{X-Frame-Options: deny, X-Content-Type-Options: nosniff}}
        basic_auth_users:
          alice: '{HASH_COST_4}'
          bob: '{HASH_COST_12}'
        """,
    )


def test_basic_auth_protects_every_answer_and_remembers_good_credentials(basic_tls: Served) -> None:
    status, headers, body = basic_tls.get()
    assert (status, headers.get("www-authenticate"), body) == (401, "Basic", b"Unauthorized\n")
    assert basic_tls.get(user="alice", password="wrong")[0] == 401
    assert basic_tls.get(user="mallory", password="pw-four")[0] == 401, "an unknown user"
    assert basic_tls.get(user="alice", password="pw-four")[0] == 200
    assert basic_tls.get(user="bob", password="pw-twelve")[0] == 200, "a hash of another cost"
    auth = basic_tls.watcher.basic_auth()
    assert auth is not None and auth.cached("bob", "pw-twelve") is True, "the next scrape costs no bcrypt"
    status, headers, body = basic_tls.get(user="bob", password="pw-twelve")
    assert (status, body) == (200, b"up 1\n")
    assert headers["X-Frame-Options"] == "deny" and headers["X-Content-Type-Options"] == "nosniff"


def test_plain_http_to_a_tls_port_gets_no_answer(basic_tls: Served) -> None:
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        basic_tls.get(tls=False)


def test_a_rotated_certificate_is_served_without_restart(basic_tls: Served) -> None:
    before = basic_tls.served_certificate()
    basic_tls.pki.write_server("server", basic_tls.pki.ca)  # the same names, a new certificate
    deadline = time.monotonic() + 5
    while basic_tls.served_certificate() == before:
        assert time.monotonic() < deadline, "the new certificate was never served"
        time.sleep(0.1)
    assert basic_tls.get(user="alice", password="pw-four")[0] == 200
    assert basic_tls.watcher.last_reload_successful


def test_a_bad_change_keeps_the_last_good_config(basic_tls: Served) -> None:
    basic_tls.config.write_text("tls_server_config: {cert_file: missing.pem, key_file: server.key}\n")
    deadline = time.monotonic() + 5
    while basic_tls.watcher.last_reload_successful:
        basic_tls.get()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert basic_tls.get(user="alice", password="pw-four")[0] == 200


def test_switching_tls_on_takes_effect_without_restart(pki: Pki) -> None:
    for served in _serve(pki, "basic_auth_users: {}\n"):
        assert served.get(tls=False)[0] == 200
        shutil.copy(pki.directory / "server.pem", pki.directory / "now.pem")
        served.config.write_text("tls_server_config: {cert_file: now.pem, key_file: server.key}\n")
        deadline = time.monotonic() + 10
        while True:
            try:
                if served.get()[0] == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            assert time.monotonic() < deadline, "the server never started speaking TLS"
            time.sleep(0.1)


def test_client_certificates_from_another_ca_are_refused(pki: Pki) -> None:
    text = "tls_server_config: {cert_file: server.pem, key_file: server.key,"
    text += " client_auth_type: RequireAndVerifyClientCert, client_ca_file: ca.pem}\n"
    for served in _serve(pki, text):
        assert served.get(context=served.context(client_cert=True))[0] == 200
        stranger = served.context()
        pki.client(pki.other_ca).configure_cert(stranger)
        with pytest.raises((ssl.SSLError, ConnectionError)):
            served.get(context=stranger)
        with pytest.raises((ssl.SSLError, ConnectionError)):
            served.get()

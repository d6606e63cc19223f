"""Certificate rotation without restart: an sni_callback that swaps ``ssl_object.context``.

These pin what Python 3.11's asyncio SSL transport and OpenSSL do, since the server relies on it:
the callback runs for every handshake, with server_name None when the client sends no SNI (as for
127.0.0.1); a swapped context brings its certificate, key, trust store and cipher list, but not its
verify mode or protocol versions, which stay those of the listening context.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from exporter.webconfig import WebConfigWatcher
from tests.unit.web.helpers import (
    MTLS,
    TLS_ONLY,
    Pki,
    client_context,
    der_of_file,
    handshake,
    handshakes,
    write_config,
)


def server_context(cert: trustme.LeafCert, **settings: object) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    for name, value in settings.items():
        setattr(ctx, name, value)
    return ctx


SniCallback = Callable[[ssl.SSLObject, str | None, ssl.SSLContext], None]


def swapping_to(new: ssl.SSLContext, seen: list[str | None]) -> SniCallback:
    def callback(ssl_object: ssl.SSLObject, server_name: str | None, listener: ssl.SSLContext) -> None:
        seen.append(server_name)
        ssl_object.context = new

    return callback


@pytest.mark.parametrize(("hostname", "sni"), [("127.0.0.1", None), ("localhost", "localhost")])
def test_swap_serves_the_new_certificate_with_and_without_sni(hostname: str, sni: str | None) -> None:
    ca = trustme.CA()
    old, new = ca.issue_cert("127.0.0.1", "localhost"), ca.issue_cert("127.0.0.1", "localhost")
    listener = server_context(old)
    seen: list[str | None] = []
    listener.sni_callback = swapping_to(server_context(new), seen)
    result = handshake(listener, client_context(ca), server_hostname=hostname)
    assert result.ok, result.error
    assert result.peer_der == ssl.PEM_cert_to_DER_cert(new.cert_chain_pems[0].bytes().decode())
    assert seen == [sni]


def test_swap_keeps_the_listeners_verify_mode() -> None:
    # Why the watcher refuses a handshake when client_auth_type changes instead of swapping.
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    listener = server_context(cert)
    strict = server_context(cert, verify_mode=ssl.CERT_REQUIRED)
    ca.configure_trust(strict)
    listener.sni_callback = swapping_to(strict, [])
    assert handshake(listener, client_context(ca)).ok  # no client certificate, yet admitted


def test_swap_keeps_the_listeners_minimum_version() -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    listener = server_context(cert)
    strict = server_context(cert, minimum_version=ssl.TLSVersion.TLSv1_3)
    listener.sni_callback = swapping_to(strict, [])
    assert handshake(listener, client_context(ca, maximum=ssl.TLSVersion.TLSv1_2)).ok


def test_swap_brings_the_new_trust_store() -> None:
    ca, old_clients, new_clients = trustme.CA(), trustme.CA(), trustme.CA()
    cert = ca.issue_cert("localhost")
    listener = server_context(cert, verify_mode=ssl.CERT_REQUIRED)
    old_clients.configure_trust(listener)
    swapped = server_context(cert, verify_mode=ssl.CERT_REQUIRED)
    new_clients.configure_trust(swapped)
    listener.sni_callback = swapping_to(swapped, [])
    assert handshake(listener, client_context(ca, new_clients.issue_cert("c@x"))).ok
    assert not handshake(listener, client_context(ca, old_clients.issue_cert("c@x"))).ok


def listening(watcher: WebConfigWatcher) -> ssl.SSLContext:
    listener = watcher.ssl_context()
    assert listener is not None
    listener.sni_callback = watcher.sni_callback
    return listener


def watcher_for(path: Path) -> WebConfigWatcher:
    return WebConfigWatcher(path, logging.getLogger("test.webconfig"), check_interval=0)


@pytest.mark.parametrize("hostname", ["127.0.0.1", "localhost"])
def test_watcher_rotates_the_certificate_without_a_new_listener(pki: Pki, hostname: str) -> None:
    watcher = watcher_for(write_config(pki.directory, TLS_ONLY))
    listener = listening(watcher)
    served: list[bytes] = []

    def rotate() -> None:
        served.append(der_of_file(pki.directory / "server.pem"))
        pki.write_server("server", pki.ca)

    results = handshakes(listener, [client_context(pki.ca)] * 3, server_hostname=hostname, between=rotate)
    served.append(der_of_file(pki.directory / "server.pem"))
    assert [r.ok for r in results] == [True, True, True]
    assert [r.peer_der for r in results] == served
    assert len(set(served)) == 3


def test_watcher_rotates_the_client_ca(pki: Pki) -> None:
    watcher = watcher_for(write_config(pki.directory, MTLS))
    listener = listening(watcher)
    old_client = client_context(pki.ca, pki.client(pki.ca))
    new_client = client_context(pki.ca, pki.client(pki.other_ca))

    def switch_ca() -> None:
        (pki.directory / "ca.pem").write_bytes((pki.directory / "other-ca.pem").read_bytes())

    before_old, after_new, after_old = handshakes(
        listener, [old_client, new_client, old_client], between=switch_ca
    )
    assert before_old.ok, before_old.error
    assert after_new.ok, after_new.error
    assert not after_old.ok


def test_watcher_refuses_handshakes_when_a_swap_cannot_apply_the_change(pki: Pki) -> None:
    path = write_config(pki.directory, TLS_ONLY)
    watcher = watcher_for(path)
    listener = listening(watcher)

    def require_client_certs() -> None:
        write_config(pki.directory, MTLS)

    assert not watcher.listener_outdated(listener)
    without_cert, also_without = handshakes(
        listener, [client_context(pki.ca)] * 2, between=require_client_certs
    )
    assert watcher.listener_outdated(listener)
    assert without_cert.ok
    # Not admitted under the old rules: the server must build a new listener from ssl_context().
    assert not also_without.ok
    rebuilt = listening(watcher)
    assert not watcher.listener_outdated(rebuilt)
    assert handshake(rebuilt, client_context(pki.ca, pki.client())).ok
    assert not handshake(rebuilt, client_context(pki.ca)).ok


def test_watcher_refuses_handshakes_when_tls_is_turned_off(pki: Pki) -> None:
    watcher = watcher_for(write_config(pki.directory, TLS_ONLY))
    listener = listening(watcher)
    results = handshakes(
        listener, [client_context(pki.ca)] * 2, between=lambda: write_config(pki.directory, "")
    )
    assert [r.ok for r in results] == [True, False]
    assert watcher.listener_outdated(listener)
    assert not watcher.listener_outdated(None)


def test_a_rotated_certificate_does_not_outdate_the_listener(pki: Pki) -> None:
    watcher = watcher_for(write_config(pki.directory, TLS_ONLY))
    listener = listening(watcher)
    pki.write_server("server", pki.ca)
    assert watcher.ssl_context() is not listener
    assert not watcher.listener_outdated(listener)
    assert watcher.listener_outdated(None)


def test_a_bad_change_keeps_serving_the_last_good_certificate(pki: Pki) -> None:
    watcher = watcher_for(write_config(pki.directory, TLS_ONLY))
    listener = listening(watcher)
    good = der_of_file(pki.directory / "server.pem")

    def break_key() -> None:
        (pki.directory / "server.key").write_text("garbage\n")

    results = handshakes(listener, [client_context(pki.ca)] * 2, between=break_key)
    assert [r.peer_der for r in results] == [good, good]
    assert not watcher.last_reload_successful

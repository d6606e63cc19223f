"""WebConfigWatcher: reload on change of the file or of a certificate file, keep the last good one."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from exporter.webconfig import WebConfigError, WebConfigWatcher
from tests.unit.web.helpers import MTLS, TLS_ONLY, Pki, client_context, der_of_file, handshake, write_config

HASH = "$2b$04$Nh0O6W8dNaHV9HLuFhl9wue9ylTj6p7pfJJ2xN0oFmZc5M5D1I5tW"


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def logger() -> logging.Logger:
    return logging.getLogger("test.webconfig")


def watcher_for(
    path: Path, logger: logging.Logger, clock: Clock, wall: Clock | None = None
) -> WebConfigWatcher:
    return WebConfigWatcher(path, logger, monotonic=clock, wall_clock=wall or Clock(1_700_000_000.0))


def rotate_server_cert(pki: Pki) -> None:
    pki.write_server("server", pki.ca)


def test_bad_file_at_start_raises(pki: Pki, logger: logging.Logger) -> None:
    path = write_config(
        pki.directory, "tls_server_config: {cert_file: server.pem, key_file: other-server.key}"
    )
    with pytest.raises(WebConfigError, match=r"^tls_server_config\.key_file: "):
        watcher_for(path, logger, Clock())
    with pytest.raises(WebConfigError, match="cannot read web config"):
        watcher_for(pki.directory / "missing.yml", logger, Clock())


def test_context_is_built_once_while_nothing_changes(pki: Pki, logger: logging.Logger) -> None:
    clock = Clock()
    watcher = watcher_for(write_config(pki.directory, TLS_ONLY), logger, clock)
    first = watcher.ssl_context()
    assert first is not None
    for _ in range(3):
        clock.now += 5
        assert watcher.ssl_context() is first
    assert watcher.reload() is False
    assert watcher.ssl_context() is first
    assert watcher.last_reload_successful
    assert watcher.last_reload_success_timestamp == 1_700_000_000.0


def test_checks_at_most_once_per_interval(pki: Pki, logger: logging.Logger) -> None:
    clock = Clock()
    path = write_config(pki.directory, TLS_ONLY)
    watcher = watcher_for(path, logger, clock)
    write_config(pki.directory, TLS_ONLY + "  min_version: TLS13\n")
    clock.now += 0.5
    tls = watcher.current().tls_server_config
    assert tls is not None
    assert tls.min_version.name == "TLS12"
    clock.now += 0.5
    tls = watcher.current().tls_server_config
    assert tls is not None
    assert tls.min_version.name == "TLS13"


def test_rotating_only_the_certificate_gives_a_new_context(pki: Pki, logger: logging.Logger) -> None:
    clock = Clock()
    watcher = watcher_for(write_config(pki.directory, TLS_ONLY), logger, clock)
    old = watcher.ssl_context()
    assert old is not None
    old_der = der_of_file(pki.directory / "server.pem")
    rotate_server_cert(pki)
    clock.now += 1
    new = watcher.ssl_context()
    assert new is not None
    assert new is not old
    new_der = der_of_file(pki.directory / "server.pem")
    assert new_der != old_der
    assert handshake(new, client_context(pki.ca)).peer_der == new_der
    assert handshake(old, client_context(pki.ca)).peer_der == old_der


def test_a_change_of_content_with_the_same_size_and_mtime_is_seen(pki: Pki, logger: logging.Logger) -> None:
    clock = Clock()
    path = write_config(pki.directory, TLS_ONLY + "  min_version: TLS12\n")
    stat = path.stat()
    watcher = watcher_for(path, logger, clock)
    write_config(pki.directory, TLS_ONLY + "  min_version: TLS13\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    clock.now += 1
    tls = watcher.current().tls_server_config
    assert tls is not None
    assert tls.min_version.name == "TLS13"


def test_bad_change_keeps_the_last_good_config_and_logs_once(
    pki: Pki, logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    clock, wall = Clock(), Clock(1_700_000_000.0)
    good = TLS_ONLY + f"basic_auth_users:\n  alice: '{HASH}'\n"
    path = write_config(pki.directory, good)
    watcher = watcher_for(path, logger, clock, wall)
    context = watcher.ssl_context()
    auth = watcher.basic_auth()
    assert auth is not None

    write_config(pki.directory, good.replace("key_file: server.key", "key_file: other-server.key"))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="test.webconfig"):
        for _ in range(3):
            clock.now += 1
            wall.now += 1
            assert watcher.ssl_context() is context
            assert watcher.basic_auth() is auth
    assert not watcher.last_reload_successful
    assert watcher.last_reload_success_timestamp == 1_700_000_000.0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    logged = errors[0].getMessage() + " " + str(errors[0].__dict__.get("error"))
    assert "tls_server_config.key_file" in logged
    assert HASH[7:] not in logged

    write_config(pki.directory, good.replace("alice", "bob"))
    clock.now += 1
    wall.now += 1
    assert watcher.ssl_context() is not context
    assert watcher.last_reload_successful
    assert watcher.last_reload_success_timestamp == wall.now
    new_auth = watcher.basic_auth()
    assert new_auth is not None
    assert list(new_auth.users) == ["bob"]


def test_a_bad_hash_is_logged_without_the_hash(
    pki: Pki, logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    path = write_config(pki.directory, f"basic_auth_users:\n  alice: '{HASH}'\n")
    watcher = watcher_for(path, logger, clock)
    write_config(pki.directory, f"basic_auth_users:\n  alice: '{HASH[:-2]}'\n  bob: [{HASH}\n")
    clock.now += 1
    with caplog.at_level(logging.INFO, logger="test.webconfig"):
        watcher.current()
    assert not watcher.last_reload_successful
    for record in caplog.records:
        assert HASH[7:40] not in record.getMessage()
        assert HASH[7:40] not in str(record.__dict__)


def test_a_half_rotated_pair_fails_then_loads(pki: Pki, logger: logging.Logger) -> None:
    clock = Clock()
    watcher = watcher_for(write_config(pki.directory, TLS_ONLY), logger, clock)
    old = watcher.ssl_context()
    new_cert = pki.ca.issue_cert("localhost")
    new_cert.cert_chain_pems[0].write_to_path(str(pki.directory / "server.pem"))
    clock.now += 1
    assert watcher.ssl_context() is old
    assert not watcher.last_reload_successful
    new_cert.private_key_pem.write_to_path(str(pki.directory / "server.key"))
    clock.now += 1
    assert watcher.ssl_context() is not old
    assert watcher.last_reload_successful


def test_a_deleted_certificate_keeps_the_old_context(pki: Pki, logger: logging.Logger) -> None:
    clock = Clock()
    watcher = watcher_for(write_config(pki.directory, MTLS), logger, clock)
    old = watcher.ssl_context()
    (pki.directory / "ca.pem").unlink()
    clock.now += 1
    assert watcher.ssl_context() is old
    assert not watcher.last_reload_successful
    shutil.copy(pki.directory / "other-ca.pem", pki.directory / "ca.pem")
    clock.now += 1
    new = watcher.ssl_context()
    assert new is not old
    assert new is not None
    assert handshake(new, client_context(pki.ca, pki.client(pki.other_ca))).ok
    assert not handshake(new, client_context(pki.ca, pki.client(pki.ca))).ok


def test_kubernetes_secret_symlink_swap(tmp_path: Path, logger: logging.Logger) -> None:
    # A Secret volume: files are symlinks into ..data, itself a symlink swapped to a new directory.
    mount = tmp_path / "mount"
    mount.mkdir()
    generations = []
    for name in ("..2024_01", "..2024_02"):
        directory = mount / name
        directory.mkdir()
        pki = Pki.create(directory)
        write_config(directory, TLS_ONLY)
        generations.append(pki)
    (mount / "..data").symlink_to("..2024_01")
    for name in ("web.yml", "server.pem", "server.key"):
        (mount / name).symlink_to(f"..data/{name}")

    clock = Clock()
    watcher = watcher_for(mount / "web.yml", logger, clock)
    old = watcher.ssl_context()
    assert old is not None
    assert handshake(old, client_context(generations[0].ca)).ok

    (mount / "..data_tmp").symlink_to("..2024_02")
    os.replace(mount / "..data_tmp", mount / "..data")
    clock.now += 1
    new = watcher.ssl_context()
    assert new is not None
    assert new is not old
    assert handshake(new, client_context(generations[1].ca)).ok


def test_reload_ignores_the_interval(pki: Pki, logger: logging.Logger) -> None:
    clock = Clock()
    watcher = watcher_for(write_config(pki.directory, TLS_ONLY), logger, clock)
    old = watcher.ssl_context()
    rotate_server_cert(pki)
    assert watcher.reload() is True
    assert watcher.ssl_context() is not old


def test_switching_tls_off_and_on(pki: Pki, logger: logging.Logger) -> None:
    clock = Clock()
    path = write_config(pki.directory, TLS_ONLY)
    watcher = watcher_for(path, logger, clock)
    write_config(pki.directory, "")
    clock.now += 1
    assert watcher.ssl_context() is None
    assert not watcher.current().tls
    write_config(pki.directory, TLS_ONLY)
    clock.now += 1
    assert watcher.ssl_context() is not None


def test_notes_are_logged_as_warnings(
    pki: Pki, logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="test.webconfig"):
        watcher_for(write_config(pki.directory, "tls_server_config: {min_version: TLS13}"), logger, Clock())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "plain HTTP" in warnings[0]


def test_real_clock_default_interval(pki: Pki, logger: logging.Logger) -> None:
    watcher = WebConfigWatcher(write_config(pki.directory, TLS_ONLY), logger)
    assert watcher.path == pki.directory / "web.yml"
    assert watcher.current().tls
    assert watcher.last_reload_success_timestamp > 1_600_000_000

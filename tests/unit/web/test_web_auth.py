"""Basic auth as exporter-toolkit does it, with real bcrypt hashes."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable

import bcrypt
import pytest

from exporter.webauth import BasicAuth, Credentials, bcrypt_hash_problem, parse_basic_authorization


def hash_of(password: bytes, cost: int, prefix: bytes = b"$2b$") -> str:
    hashed = bcrypt.hashpw(password, bcrypt.gensalt(cost))
    return (prefix + hashed[4:]).decode()


class CountingCheckpw:
    """bcrypt.checkpw that counts its calls and the most that ran at once."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[bytes] = []
        self.running = 0
        self.most_running = 0
        self._delay = delay
        self._lock = threading.Lock()

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        with self._lock:
            self.calls.append(hashed)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            if self._delay:
                time.sleep(self._delay)
            return bool(bcrypt.checkpw(password, hashed))
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture(scope="module")
def alice_hash() -> str:
    return hash_of(b"alice-secret", 4)


def test_right_wrong_and_unknown(alice_hash: str) -> None:
    auth = BasicAuth({"alice": alice_hash})
    assert auth.verify("alice", "alice-secret")
    assert not auth.verify("alice", "wrong")
    assert not auth.verify("mallory", "alice-secret")
    assert not auth.verify("", "")


@pytest.mark.parametrize("cost", [4, 12])
@pytest.mark.parametrize("prefix", [b"$2a$", b"$2b$", b"$2y$"])
def test_any_prefix_and_cost_verifies(cost: int, prefix: bytes) -> None:
    hashed = hash_of(b"pw", cost, prefix)
    assert bcrypt_hash_problem(hashed) is None
    auth = BasicAuth({"u": hashed})
    assert auth.verify("u", b"pw")
    assert not auth.verify("u", b"px")


def test_cost_14_verifies() -> None:
    auth = BasicAuth({"u": hash_of(b"pw", 14, b"$2y$")})
    assert auth.verify("u", "pw")


def test_users_of_different_costs_each_verify() -> None:
    auth = BasicAuth({"fast": hash_of(b"one", 4), "slow": hash_of(b"two", 12)})
    assert auth.verify("fast", "one")
    assert auth.verify("slow", "two")
    assert not auth.verify("fast", "two")


def test_a_hash_made_by_htpasswd_style_tools_verifies() -> None:
    # exporter-toolkit's own decoy, "$2y$" as htpasswd -B writes it.
    auth = BasicAuth({"u": "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"})
    assert auth.verify("u", "fakepassword")


def test_cache_hit_costs_no_bcrypt(alice_hash: str) -> None:
    checkpw = CountingCheckpw()
    auth = BasicAuth({"alice": alice_hash}, checkpw=checkpw)
    assert auth.cached("alice", "alice-secret") is None
    assert auth.verify("alice", "alice-secret")
    assert auth.cached("alice", "alice-secret") is True
    assert auth.verify("alice", "alice-secret")
    assert not auth.verify("alice", "wrong")
    assert auth.cached("alice", "wrong") is False
    assert not auth.verify("alice", "wrong")
    assert not auth.verify("nobody", "x")
    assert auth.cached("nobody", "x") is False
    assert not auth.verify("nobody", "x")
    assert len(checkpw.calls) == 3


def test_str_and_bytes_passwords_share_the_cache(alice_hash: str) -> None:
    checkpw = CountingCheckpw()
    auth = BasicAuth({"alice": alice_hash}, checkpw=checkpw)
    assert auth.verify("alice", "alice-secret")
    assert auth.cached("alice", b"alice-secret") is True
    assert len(checkpw.calls) == 1


def test_unknown_user_pays_a_bcrypt_of_the_users_cost() -> None:
    checkpw = CountingCheckpw()
    auth = BasicAuth({"a": hash_of(b"x", 4), "b": hash_of(b"y", 6)}, checkpw=checkpw)
    assert not auth.verify("nobody", "x")
    assert len(checkpw.calls) == 1
    decoy = checkpw.calls[0].decode()
    assert decoy.startswith("$2y$06$")
    assert bcrypt_hash_problem(decoy) is None
    assert decoy not in auth.users.values()


def test_unknown_user_takes_about_as_long_as_a_known_one() -> None:
    auth = BasicAuth({"alice": hash_of(b"pw", 10)})

    def best_of(attempt: Callable[[int], object]) -> float:
        times = []
        for i in range(3):
            start = time.perf_counter()
            attempt(i)
            times.append(time.perf_counter() - start)
        return min(times)

    known = best_of(lambda i: auth.verify("alice", f"wrong-{i}"))
    unknown = best_of(lambda i: auth.verify(f"nobody-{i}", "pw"))
    assert 0.4 < unknown / known < 2.5


def test_bcrypt_runs_one_at_a_time(alice_hash: str) -> None:
    checkpw = CountingCheckpw(delay=0.02)
    auth = BasicAuth({"alice": alice_hash}, checkpw=checkpw)
    threads = [threading.Thread(target=auth.verify, args=("alice", f"guess-{i}")) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checkpw.calls) == 8
    assert checkpw.most_running == 1


def test_concurrent_identical_attempts_share_one_bcrypt(alice_hash: str) -> None:
    checkpw = CountingCheckpw(delay=0.05)
    auth = BasicAuth({"alice": alice_hash}, checkpw=checkpw)
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(auth.verify("alice", "alice-secret")))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 6
    assert len(checkpw.calls) == 1


def test_cache_is_bounded_and_failures_do_not_evict_successes(alice_hash: str) -> None:
    checkpw = CountingCheckpw()
    auth = BasicAuth({"alice": alice_hash}, cache_size=5, checkpw=checkpw)
    assert auth.verify("alice", "alice-secret")
    for i in range(20):
        assert not auth.verify("alice", f"flood-{i}")
    assert auth.cached("alice", "alice-secret") is True
    assert auth.cached("alice", "flood-19") is False
    assert auth.cached("alice", "flood-0") is None  # evicted: the failures keep 5


def test_long_and_odd_passwords() -> None:
    long_password = b"p" * 72
    auth = BasicAuth({"u": hash_of(long_password, 4)})
    # bcrypt reads 72 bytes, as Go's does: the rest never mattered.
    assert auth.verify("u", long_password + b"ignored")
    assert not auth.verify("u", b"p" * 71)
    assert not auth.verify("u", b"a\x00b")
    assert not auth.verify("u", b"\xff\xfe")


def test_a_non_utf8_password_can_match() -> None:
    auth = BasicAuth({"u": hash_of(b"caf\xe9", 4)})
    assert auth.verify("u", b"caf\xe9")
    assert not auth.verify("u", "café")


def test_a_bad_hash_is_refused_without_quoting_it() -> None:
    with pytest.raises(ValueError, match=r"basic_auth_users\.u: not a bcrypt hash") as info:
        BasicAuth({"u": "$2y$10$tooshort"})
    assert "tooshort" not in str(info.value)


def test_check_takes_parsed_credentials(alice_hash: str) -> None:
    auth = BasicAuth({"alice": alice_hash})
    header = "Basic " + base64.b64encode(b"alice:alice-secret").decode()
    assert auth.check(parse_basic_authorization(header))
    assert not auth.check(parse_basic_authorization("Basic !!!"))
    assert not auth.check(None)


def basic(raw: bytes) -> bytes:
    return b"Basic " + base64.b64encode(raw)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (basic(b"alice:secret"), Credentials("alice", b"secret")),
        (b"basic " + base64.b64encode(b"alice:secret"), Credentials("alice", b"secret")),
        (b"BASIC " + base64.b64encode(b"alice:secret"), Credentials("alice", b"secret")),
        ("Basic " + base64.b64encode(b"alice:secret").decode(), Credentials("alice", b"secret")),
        (basic(b"alice:se:cret"), Credentials("alice", b"se:cret")),
        (basic(b":"), Credentials("", b"")),
        (basic(b"alice:"), Credentials("alice", b"")),
        (basic(b"\xff\xfe:\xff"), Credentials("\udcff\udcfe", b"\xff")),
        (basic("jürgen:pässword".encode()), Credentials("jürgen", "pässword".encode())),
    ],
)
def test_parse_good_headers(header: str | bytes, expected: Credentials) -> None:
    assert parse_basic_authorization(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        b"",
        "Basic",
        "Basic ",
        "Basic !!!!",
        "Basic YWxpY2U",  # no padding
        "Basic YWxpY2U6c2VjcmV0 ",  # a trailing space is not base64
        "Basic  YWxpY2U6c2VjcmV0",  # two spaces
        "Bearer YWxpY2U6c2VjcmV0",
        "BasicYWxpY2U6c2VjcmV0",
        basic(b"no colon"),
        basic(b""),
        "Basic é",
        "Basic ☃",
        b"Basic \xff\xfe",
        "Digest username=alice",
    ],
)
def test_parse_garbage_is_none_and_never_raises(header: str | bytes | None) -> None:
    assert parse_basic_authorization(header) is None


def test_credentials_repr_hides_the_password() -> None:
    assert "secret" not in repr(Credentials("alice", b"secret"))

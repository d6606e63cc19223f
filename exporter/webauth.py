"""HTTP basic auth as exporter-toolkit does it: bcrypt hashes, a result cache, one bcrypt at a time.

The split between :meth:`BasicAuth.cached` (instant) and :meth:`BasicAuth.verify` (a bcrypt, up to
seconds at high cost) lets an event loop answer repeated credentials itself and send only new ones to
a worker thread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import bcrypt

# exporter-toolkit's own decoy: the bcrypt of "fakepassword". Only its salt and checksum are used; the
# cost is replaced by the users' so an unknown user costs as much as a known one.
_DECOY_TEMPLATE = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"

# Go's x/crypto/bcrypt accepts any minor letter and costs 4..31; Python's bcrypt checks $2a$, $2b$, $2x$
# and $2y$ (one algorithm for ASCII passwords), so these are the hashes both can verify.
_BCRYPT_HASH = re.compile(r"\$2[abxy]\$(?P<cost>0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")

# bcrypt keys Blowfish with at most 72 bytes of the password; Go ignores the rest and so did every
# Python bcrypt before 5.0, which raises instead. Cutting here keeps one meaning across versions.
_BCRYPT_MAX_PASSWORD = 72

# exporter-toolkit keeps 100 results (web/cache.go).
DEFAULT_CACHE_SIZE = 100

CheckPw = Callable[[bytes, bytes], bool]


def bcrypt_hash_problem(value: object) -> str | None:
    """Why ``value`` is no bcrypt hash this exporter can verify, or None; never quotes the value."""
    if not isinstance(value, str):
        return "must be a bcrypt hash (a string)"
    if _BCRYPT_HASH.fullmatch(value) is None:
        return (
            "not a bcrypt hash ($2a$, $2b$, $2x$ or $2y$, cost 04 to 31, then 53 characters of salt and hash)"
        )
    return None


def bcrypt_cost(value: str) -> int:
    match = _BCRYPT_HASH.fullmatch(value)
    if match is None:
        raise ValueError("not a bcrypt hash")
    return int(match["cost"])


@dataclass(frozen=True)
class Credentials:
    """What an ``Authorization: Basic`` header carries.

    ``password`` stays bytes: bcrypt compares bytes and Go's server does not require UTF-8. A user name
    that is not UTF-8 is decoded with surrogate escapes, so it matches no configured user but still
    costs a decoy bcrypt like any unknown user.
    """

    user: str
    password: bytes = b""

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password=<redacted>)"


def parse_basic_authorization(value: str | bytes | None) -> Credentials | None:
    """Credentials from an ``Authorization`` header value, or None when it holds none; never raises.

    As Go's ``Request.BasicAuth``: the scheme is ``Basic`` in any case followed by one space, then
    standard padded base64 of ``user:password`` split at the first colon.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = value.encode("latin-1")
        except UnicodeEncodeError:
            return None
    prefix = b"basic "
    if len(value) < len(prefix) or value[: len(prefix)].lower() != prefix:
        return None
    try:
        decoded = base64.b64decode(value[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    if not colon:
        return None
    return Credentials(user.decode("utf-8", errors="surrogateescape"), password)


class _BoundedResults:
    """A bounded set of credential digests: the oldest entry goes when it is full."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[bytes, None] = OrderedDict()

    def __contains__(self, key: bytes) -> bool:
        if key in self._entries:
            self._entries.move_to_end(key)
            return True
        return False

    def add(self, key: bytes) -> None:
        self._entries[key] = None
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class BasicAuth:
    """Checks basic-auth credentials against bcrypt hashes of ``users`` (user -> hash).

    Every attempt not in the cache costs exactly one bcrypt, an unknown user's too (against a decoy
    hash of the users' highest cost), and bcrypts run one at a time, so a flood of wrong passwords
    keeps at most one core busy. Results are cached by (user, hash, password) like exporter-toolkit,
    but successes and failures are kept apart so that a flood of wrong passwords cannot evict the
    scraper's good credentials; the cache holds keyed digests, not passwords.
    """

    def __init__(
        self,
        users: Mapping[str, str],
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        checkpw: CheckPw = bcrypt.checkpw,
    ) -> None:
        for user, hashed in users.items():
            problem = bcrypt_hash_problem(hashed)
            if problem is not None:
                raise ValueError(f"basic_auth_users.{user}: {problem}")
        self._users: Mapping[str, str] = MappingProxyType(dict(users))
        cost = max((bcrypt_cost(h) for h in self._users.values()), default=10)
        self._decoy = f"{_DECOY_TEMPLATE[:4]}{cost:02d}{_DECOY_TEMPLATE[6:]}"
        self._checkpw = checkpw
        # A per-instance key, so the digests in memory are no offline oracle for the passwords.
        self._digest_key = os.urandom(32)
        self._cache_lock = threading.Lock()
        self._successes = _BoundedResults(cache_size)
        self._failures = _BoundedResults(cache_size)
        self._bcrypt_lock = threading.Lock()

    @property
    def users(self) -> Mapping[str, str]:
        return self._users

    def _key(self, user: str, password: bytes) -> tuple[bytes, bool, str]:
        hashed = self._users.get(user)
        known = hashed is not None
        if hashed is None:
            hashed = self._decoy
        digest = hashlib.blake2b(key=self._digest_key, digest_size=32)
        for part in (user.encode("utf-8", errors="surrogateescape"), hashed.encode("ascii"), password):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.digest(), known, hashed

    def _lookup(self, key: bytes) -> bool | None:
        with self._cache_lock:
            if key in self._successes:
                return True
            if key in self._failures:
                return False
            return None

    def cached(self, user: str, password: bytes | str) -> bool | None:
        """The cached result for these credentials, or None when only :meth:`verify` can tell; instant."""
        key, _, _ = self._key(user, _as_bytes(password))
        return self._lookup(key)

    def verify(self, user: str, password: bytes | str) -> bool:
        """Whether the credentials are right: one bcrypt unless cached; thread-safe, may take seconds."""
        password = _as_bytes(password)
        key, known, hashed = self._key(user, password)
        result = self._lookup(key)
        if result is not None:
            return result
        with self._bcrypt_lock:
            # Another thread may have checked the same credentials while this one waited.
            result = self._lookup(key)
            if result is not None:
                return result
            try:
                matched = self._checkpw(password[:_BCRYPT_MAX_PASSWORD], hashed.encode("ascii"))
            except ValueError:
                # Python's bcrypt refuses some inputs Go would hash (a NUL byte, an odd salt): no match.
                matched = False
        result = known and matched
        with self._cache_lock:
            (self._successes if result else self._failures).add(key)
        return result

    def check(self, credentials: Credentials | None) -> bool:
        """:meth:`verify` for a parsed header; no credentials is a failure."""
        return credentials is not None and self.verify(credentials.user, credentials.password)


def _as_bytes(password: bytes | str) -> bytes:
    return password if isinstance(password, bytes) else password.encode("utf-8", errors="surrogateescape")

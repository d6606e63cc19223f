"""Which of several exporters serves a series: each is shard ``index`` of ``total``, as in
kube-state-metrics, and keeps an object when the 64-bit FNV-1a hash of its key, modulo ``total``,
is its index.

The key is the name of the object a series belongs to (a service, a node, a controller); each
collector says which object that is for each of its families (docs/architecture.md, "Sharding").
The hash must give every shard the same answer for a key, in every process and Python version:
``hash()`` is salted per process, so it cannot be used.
"""

from collections.abc import Callable
from dataclasses import dataclass

_FNV_OFFSET_BASIS = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1

# The key of what belongs to no object: a fleet-wide figure, or a count of records whose name could
# not be read. One shard owns it, as one owns any key, so such a figure is served exactly once.
UNKEYED = ""


def fnv1a_64(data: bytes) -> int:
    """The 64-bit FNV-1a hash (Go's ``hash/fnv`` New64a, which kube-state-metrics uses)."""
    value = _FNV_OFFSET_BASIS
    for byte in data:
        value = ((value ^ byte) * _FNV_PRIME) & _MASK
    return value


def key_hash(key: str) -> int:
    # surrogatepass: a name holding a lone surrogate (which JSON lets through) still has one owner,
    # the shard that counts it as skipped.
    return fnv1a_64(key.encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``total``. An index at or past ``total`` owns nothing: a pod of a
    StatefulSet scaled down below it, serving until it is stopped."""

    index: int = 0
    total: int = 1

    def __post_init__(self) -> None:
        if self.total < 1:
            raise ValueError(f"total shards must be at least 1, not {self.total}")
        if self.index < 0:
            raise ValueError(f"a shard index cannot be negative ({self.index})")

    @property
    def sharded(self) -> bool:
        return self.total > 1

    def owns(self, key: str) -> bool:
        if self.total == 1:
            return self.index == 0
        return key_hash(key) % self.total == self.index

    def owner(self) -> Callable[[str], bool]:
        """``owns`` remembering its answers, for one run: keys repeat (each replica of a service
        asks for the service's name), and the hash is a Python loop over the key's bytes."""
        if self.total == 1:
            owned = self.index == 0
            return lambda key: owned
        answers: dict[str, bool] = {}

        def owns(key: str) -> bool:
            found = answers.get(key)
            if found is None:
                found = answers[key] = self.owns(key)
            return found

        return owns

    def describe(self) -> str:
        return f"shard {self.index} of {self.total}"


UNSHARDED = Shard()


class CurrentShard:
    """The shard this exporter is now: fixed by flags, or re-read from its StatefulSet while it runs.

    Read by collectors at each run and by every scrape; replaced by one reference swap, so a
    reader sees the old shard or the new one, never a mix.
    """

    def __init__(self, shard: Shard = UNSHARDED) -> None:
        self._shard = shard

    def __call__(self) -> Shard:
        return self._shard

    def set(self, shard: Shard) -> bool:
        """Make ``shard`` current; whether it differs from the one it replaces."""
        changed = shard != self._shard
        self._shard = shard
        return changed

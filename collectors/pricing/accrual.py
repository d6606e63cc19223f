"""Accrued spend: hourly list prices integrated over the real time between two collections.

Shared by every collector that prices replicas. The state is explicit and owned by one
collector, keyed by the label values of the cost series, so a series keeps counting up across
snapshots and is forgotten only once its replica has been gone for good.
"""

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

_SECONDS_PER_HOUR = 3600.0
# A replica missing from one poll (a glitch upstream) keeps its total if it comes back soon.
_FORGET_AFTER_SECONDS = 3600.0


@dataclass
class _Account:
    total: float
    hourly: float
    seen_at: float


class CostAccrual(Generic[K]):
    """Dollars spent per key since the exporter started.

    Each collection adds the *previous* collection's hourly price times the time since then
    (the replica held those resources at that price during the interval). A gap longer than
    ``stale_after`` adds nothing: the exporter did not see the fleet then and does not guess.
    """

    def __init__(self, stale_after: float, forget_after: float = _FORGET_AFTER_SECONDS) -> None:
        self._stale_after = stale_after
        self._forget_after = forget_after
        self._accounts: dict[K, _Account] = {}
        self._last_at: float | None = None

    def observe(self, now: float, hourly: Mapping[K, float]) -> dict[K, float]:
        """Record this collection's prices; the running totals of the keys priced now."""
        elapsed = 0.0 if self._last_at is None else now - self._last_at
        accrues = 0.0 < elapsed <= self._stale_after
        for key, rate in hourly.items():
            account = self._accounts.get(key)
            if account is None:
                self._accounts[key] = _Account(total=0.0, hourly=rate, seen_at=now)
                continue
            if accrues and account.seen_at == self._last_at:
                account.total += account.hourly * elapsed / _SECONDS_PER_HOUR
            account.hourly, account.seen_at = rate, now
        self._forget(now)
        self._last_at = now
        return {key: self._accounts[key].total for key in hourly}

    def _forget(self, now: float) -> None:
        gone = [key for key, acc in self._accounts.items() if now - acc.seen_at > self._forget_after]
        for key in gone:
            del self._accounts[key]

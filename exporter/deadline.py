"""A collection's time budget, shared by the requests it makes: each gets what is left of it."""

from collections.abc import Callable

from exporter.errors import UpstreamTimeout


class Deadline:
    def __init__(self, budget: float, monotonic: Callable[[], float], what: str) -> None:
        self._budget = budget
        self._monotonic = monotonic
        self._what = what
        self._end = monotonic() + budget

    def remaining(self) -> float:
        """Seconds left; UpstreamTimeout once the budget is spent."""
        left = self._end - self._monotonic()
        if left <= 0:
            raise UpstreamTimeout(f"{self._what} did not complete within the {self._budget:g}s timeout")
        return left

"""Counts of requests served per path, so tests can assert who called upstream and when."""

import threading
from collections import Counter


class RequestCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def hit(self, path: str) -> None:
        with self._lock:
            self._counts[path] += 1

    def count(self, path: str) -> int:
        with self._lock:
            return self._counts[path]

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts)

"""Counts of requests served per path, so tests can assert who called upstream and when."""

import threading
from collections import Counter, OrderedDict

# Replica paths carry replica ids, which churn for as long as the fleet runs, and any client may
# send any path: past this many distinct paths the least recently hit one is forgotten.
MAX_PATHS = 4_096


class RequestCounter:
    def __init__(self, max_paths: int = MAX_PATHS) -> None:
        self._lock = threading.Lock()
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._max_paths = max_paths

    def hit(self, path: str) -> None:
        with self._lock:
            self._counts[path] = self._counts.get(path, 0) + 1
            self._counts.move_to_end(path)
            while len(self._counts) > self._max_paths:
                self._counts.popitem(last=False)

    def count(self, path: str) -> int:
        with self._lock:
            return self._counts.get(path, 0)

    def __len__(self) -> int:
        with self._lock:
            return len(self._counts)

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts)

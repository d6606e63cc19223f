"""A recording prober, to prove which probes ran (and that refused ones never did)."""

import threading
import time

from collectors.probes.modules import Module
from collectors.probes.targets import ProbeResult


class RecordingProber:
    def __init__(self, seconds: float = 0.0, success: bool = True) -> None:
        self.seconds = seconds
        self.success = success
        self.calls: list[tuple[str, float]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def probe(self, target: str, timeout: float) -> ProbeResult:
        with self._lock:
            self.calls.append((target, timeout))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        time.sleep(self.seconds)
        with self._lock:
            self.in_flight -= 1
        phases = {"resolve": 0.0, "connect": 0.001, "tls": 0.0, "processing": 0.002, "transfer": 0.0}
        return ProbeResult("http", self.success, 0.003, 200 if self.success else 503, phases)


def fake_modules(prober: RecordingProber, timeout: float = 5.0) -> dict[str, Module]:
    return {
        "http_2xx": Module("http_2xx", "http", timeout, "/health", prober),
        "other": Module("other", "http", timeout, "/other", prober),
    }

"""What is probed and what a probe found."""

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# blackbox_exporter's probe_http_duration_seconds phases, in its order.
PHASES = ("resolve", "connect", "tls", "processing", "transfer")


@dataclass(frozen=True)
class ProbeTarget:
    """One thing to probe. ``url`` may carry credentials and is never exported; ``label`` is."""

    label: str  # the target label: the redacted URL, or a static target's name
    url: str
    module: str
    kind: str  # service | replica | node | static
    service_name: str = ""
    replica_id: str = ""

    @property
    def labels(self) -> tuple[str, str, str, str]:
        return (self.label, self.service_name, self.replica_id, self.kind)


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one probe, blackbox-style: a failure is data, not an exception."""

    prober: str  # http | tcp
    success: bool
    duration: float
    status_code: int = 0  # http: the final status after redirects; 0 when no response arrived
    phases: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))  # http only
    cert_expiry: float | None = None  # when TLS was used: earliest notAfter the peer presented
    failure: str = ""  # why it failed, for debug logs (already free of secrets)


class Deadline:
    """The time left for one probe; every blocking call gets what remains, not a fresh timeout."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("probe timed out")
        return left


class Trace:
    """What one probe measured so far: phase times summed over round trips, and the last answer."""

    def __init__(self) -> None:
        self.phases = dict.fromkeys(PHASES, 0.0)
        self.status_code = 0
        self.cert_expiry: float | None = None

    def add(self, phase: str, seconds: float) -> None:
        self.phases[phase] += seconds

    def lap(self, phase: str, since: float) -> float:
        """Add the time since ``since`` to ``phase``; returns now, the start of the next phase."""
        now = time.perf_counter()
        self.add(phase, now - since)
        return now

    def frozen_phases(self) -> Mapping[str, float]:
        return MappingProxyType(dict(self.phases))

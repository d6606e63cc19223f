"""Injected API-server faults, and the switch that holds requests while one is active."""

import threading
from dataclasses import dataclass, field
from enum import StrEnum

# A hanging request gives up after this long even if nobody clears the fault.
HANG_CAP_SECONDS = 120.0


class Fault(StrEnum):
    NONE = "none"
    SLOW = "slow"  # answer after a delay
    HANGING = "hanging"  # never answer until cleared or stopped
    # /api/get fails every request (serve.status and status alike) with SkyPilot's error JSON for
    # the RuntimeError below; a request asked again once the fault is cleared succeeds.
    ERROR_500 = "error_500"
    GARBAGE = "garbage"  # /api/get answers serve.status with 200 and a body that is not JSON
    AUTH = "auth"  # every call but /api/health is refused with 401
    # The API server has no internet: serve.status fails its network check with RuntimeError
    # "Failed to refresh services status due to network error."; status (a database read) works.
    OFFLINE = "offline"
    # The hostile upstream (simulator.hostile has the bodies); each touches serve.status's
    # /api/get answer only, the one that carries the fleet.
    TRICKLE = "trickle"  # 200, then the body a byte every ``delay`` seconds (1 s when 0)
    HUGE = "huge"  # 200 with a valid JSON body of about 200 MB, streamed
    DEEP = "deep"  # 200 with 100,000 nested JSON arrays
    SURROGATE = "surrogate"  # the first service is named "lone-\ud800" (a lone surrogate)


@dataclass(frozen=True)
class _Setting:
    fault: Fault
    delay: float
    # Set when this setting is replaced (or the server stops): wakes whoever it is holding.
    replaced: threading.Event = field(default_factory=threading.Event)


class FaultSwitch:
    """The active fault. ``hold()`` delays a request as the fault says; ``close()`` frees everyone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._setting = _Setting(Fault.NONE, 0.0)
        self.closed = threading.Event()

    def set(self, fault: Fault, delay: float = 0.0) -> None:
        if delay < 0:
            raise ValueError("delay must be >= 0")
        with self._lock:
            old, self._setting = self._setting, _Setting(Fault(fault), delay)
            if self.closed.is_set():
                self._setting.replaced.set()
        old.replaced.set()

    def current(self) -> Fault:
        with self._lock:
            return self._setting.fault

    def pace(self) -> tuple[float, threading.Event]:
        """The active fault's delay, and the event set when it is replaced or the server stops."""
        with self._lock:
            return self._setting.delay, self._setting.replaced

    def hold(self) -> Fault:
        """Wait as the active fault demands, then return the fault in force afterwards."""
        with self._lock:
            setting = self._setting
        if setting.fault == Fault.SLOW:
            setting.replaced.wait(setting.delay)
        elif setting.fault == Fault.HANGING:
            setting.replaced.wait(HANG_CAP_SECONDS)
        return self.current()

    def close(self) -> None:
        with self._lock:
            self.closed.set()
            setting = self._setting
        setting.replaced.set()

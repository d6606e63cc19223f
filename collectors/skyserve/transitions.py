"""Preemptions and failures observed between polls, counted per service and placement.

Rules (the collector owns one ``TransitionTracker``; nothing here is global):

- A replica is identified by (service_name, replica_id) and remembered with its last status and its
  last known cloud and region. A PREEMPTED or failed replica may already have lost its cluster; its
  transition is charged to where it ran.
- A preemption is a move into PREEMPTED from any other status. A failure is a move into a FAILED*
  status from a status that is not FAILED*, so FAILED -> FAILED_CLEANUP, or a replica that stays
  failed for many polls, is one failure episode. UNKNOWN is not a failure here (it is visible in
  ``skyserve_replica_status``).
- The first poll after start only records state: replicas found already PREEMPTED or FAILED are
  history, not something this exporter saw happen. In later polls a replica seen for the first time
  counts if it is already PREEMPTED/FAILED: replica ids are new, so that happened since the last poll.
- A replica missing from a poll is forgotten at once (SkyServe never reuses a replica id within a
  service).
- A counter series exists, from 0, for every (service, cloud, region) that has a replica, so rates work
  from the first event. It is only ever incremented while it exists, and is deleted once no replica has
  had that label set for ``retention`` seconds; if the label set comes back later it starts again from 0,
  which Prometheus reads as a counter reset.
- A state that begins and ends between two polls is not seen; these count transitions observed, not
  every transition that happened.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from collectors.skyserve.records import ReplicaRecord

PREEMPTED = "PREEMPTED"
_FAILED_PREFIX = "FAILED"
DEFAULT_RETENTION = 3600.0


def is_failure(status: str) -> bool:
    return status.startswith(_FAILED_PREFIX)


@dataclass(frozen=True, slots=True)
class CounterSample:
    service_name: str
    cloud: str
    region: str
    preemptions: float
    failures: float


@dataclass(slots=True)
class _ReplicaState:
    status: str
    cloud: str
    region: str


@dataclass(slots=True)
class _Counts:
    last_present: float
    preemptions: float = 0.0
    failures: float = 0.0


class TransitionTracker:
    """Counts replica transitions between successive observations of the fleet."""

    def __init__(self, retention: float = DEFAULT_RETENTION) -> None:
        self._retention = retention
        self._replicas: dict[tuple[str, int], _ReplicaState] = {}
        self._counters: dict[tuple[str, str, str], _Counts] = {}
        self._primed = False

    def observe(self, replicas: Iterable[ReplicaRecord], now: float) -> None:
        """Take one successful poll's replicas into account."""
        current: dict[tuple[str, int], _ReplicaState] = {}
        known, counters, primed = self._replicas, self._counters, self._primed
        for replica in replicas:
            key = (replica.service_name, replica.replica_id)
            previous = known.get(key)
            state = _state_of(replica, previous)
            group = (replica.service_name, state.cloud, state.region)
            counts = counters.get(group)
            if counts is None:
                counts = counters[group] = _Counts(last_present=now)
            counts.last_present = now
            if primed and (previous is None or previous.status != state.status):
                _count(previous.status if previous else None, state.status, counts)
            current[key] = state
        self._replicas = current
        self._primed = True
        self._prune(now)

    def samples(self) -> list[CounterSample]:
        return [
            CounterSample(service, cloud, region, counts.preemptions, counts.failures)
            for (service, cloud, region), counts in sorted(self._counters.items())
        ]

    def _prune(self, now: float) -> None:
        expired = [
            key for key, counts in self._counters.items() if now - counts.last_present > self._retention
        ]
        for key in expired:
            del self._counters[key]


def _state_of(replica: ReplicaRecord, previous: _ReplicaState | None) -> _ReplicaState:
    placement = replica.placement
    if previous is not None:
        if not placement.cloud:
            cloud, region = previous.cloud, previous.region
        else:
            cloud, region = placement.cloud, placement.region
        if (previous.status, previous.cloud, previous.region) == (replica.status, cloud, region):
            return previous  # most replicas, most polls: no new object to keep
        return _ReplicaState(replica.status, cloud, region)
    return _ReplicaState(replica.status, placement.cloud, placement.region)


def _count(previous: str | None, status: str, counts: _Counts) -> None:
    if status == PREEMPTED and previous != PREEMPTED:
        counts.preemptions += 1
    if is_failure(status) and not (previous is not None and is_failure(previous)):
        counts.failures += 1

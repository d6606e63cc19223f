from collectors.skyserve.records import Placement, ReplicaRecord
from collectors.skyserve.transitions import CounterSample, TransitionTracker


def _replica(replica_id: int, status: str, cloud: str = "aws", region: str = "us-east-2") -> ReplicaRecord:
    return ReplicaRecord(
        service_name="svc",
        replica_id=replica_id,
        status=status,
        version=1,
        endpoint=None,
        is_spot=True,
        launched_at=None,
        placement=Placement(cloud=cloud, region=region),
    )


def _counts(tracker: TransitionTracker) -> dict[tuple[str, str], tuple[float, float]]:
    """(cloud, region) -> (preemptions, failures) for service svc."""
    return {
        (s.cloud, s.region): (s.preemptions, s.failures) for s in tracker.samples() if s.service_name == "svc"
    }


def _run(tracker: TransitionTracker, *polls: list[ReplicaRecord]) -> None:
    for step, replicas in enumerate(polls):
        tracker.observe(replicas, now=1000.0 + 30 * step)


def test_series_exist_from_zero_for_every_placement_with_replicas() -> None:
    tracker = TransitionTracker()
    _run(tracker, [_replica(1, "READY"), _replica(2, "PENDING", cloud="", region="")])
    assert tracker.samples() == [
        CounterSample("svc", "", "", 0, 0),
        CounterSample("svc", "aws", "us-east-2", 0, 0),
    ]


def test_preemption_is_counted_once_while_it_stays_preempted() -> None:
    tracker = TransitionTracker()
    _run(
        tracker,
        [_replica(1, "READY")],
        [_replica(1, "PREEMPTED")],
        [_replica(1, "PREEMPTED")],
        [_replica(1, "PREEMPTED")],
    )
    assert _counts(tracker) == {("aws", "us-east-2"): (1, 0)}


def test_state_at_start_is_history_but_new_replicas_later_count() -> None:
    tracker = TransitionTracker()
    _run(
        tracker,
        [_replica(1, "PREEMPTED"), _replica(2, "FAILED")],  # first poll: seen, not counted
        [
            _replica(1, "PREEMPTED"),
            _replica(2, "FAILED"),
            _replica(3, "PREEMPTED"),
            _replica(4, "FAILED_PROVISION"),
        ],
    )
    assert _counts(tracker) == {("aws", "us-east-2"): (1, 1)}


def test_one_failure_per_episode() -> None:
    tracker = TransitionTracker()
    _run(
        tracker,
        [_replica(1, "STARTING")],
        [_replica(1, "FAILED_INITIAL_DELAY")],
        [_replica(1, "FAILED_CLEANUP")],  # same episode: failed -> failed
        [_replica(1, "FAILED_CLEANUP")],
        [_replica(1, "READY")],
        [_replica(1, "FAILED_PROBING")],  # a new episode
    )
    assert _counts(tracker) == {("aws", "us-east-2"): (0, 2)}


def test_unknown_and_other_statuses_are_not_failures() -> None:
    tracker = TransitionTracker()
    _run(tracker, [_replica(1, "READY")], [_replica(1, "UNKNOWN")], [_replica(1, "DRAINING")])
    assert _counts(tracker) == {("aws", "us-east-2"): (0, 0)}


def test_preempted_then_failed_counts_both() -> None:
    tracker = TransitionTracker()
    _run(tracker, [_replica(1, "READY")], [_replica(1, "PREEMPTED")], [_replica(1, "FAILED")])
    assert _counts(tracker) == {("aws", "us-east-2"): (1, 1)}


def test_transition_is_charged_to_the_last_known_placement() -> None:
    tracker = TransitionTracker()
    # The preempted replica's cluster record is gone: no cloud/region in this poll.
    _run(tracker, [_replica(1, "READY", "gcp", "us-central1")], [_replica(1, "PREEMPTED", "", "")])
    assert _counts(tracker) == {("gcp", "us-central1"): (1, 0)}


def test_gone_replica_is_forgotten_and_counters_stay_within_retention() -> None:
    tracker = TransitionTracker(retention=100)
    tracker.observe([_replica(1, "READY")], now=0)
    tracker.observe([_replica(1, "PREEMPTED")], now=30)
    tracker.observe([], now=60)  # replica gone; its counter series stays, unchanged
    assert _counts(tracker) == {("aws", "us-east-2"): (1, 0)}
    tracker.observe([], now=130)  # 100 s after the last replica with that label set
    assert _counts(tracker) == {("aws", "us-east-2"): (1, 0)}
    tracker.observe([], now=131)
    assert tracker.samples() == []


def test_counter_never_decreases_while_its_label_set_exists() -> None:
    tracker = TransitionTracker(retention=100)
    statuses = ["READY", "PREEMPTED", "READY", "FAILED", "FAILED", "READY", "PREEMPTED", "READY"]
    last = (0.0, 0.0)
    for step, status in enumerate(statuses):
        tracker.observe([_replica(1, status)], now=30.0 * step)
        current = _counts(tracker)[("aws", "us-east-2")]
        assert current[0] >= last[0] and current[1] >= last[1]
        last = current
    assert last == (2, 1)


def test_observing_the_same_poll_twice_counts_nothing_new() -> None:
    tracker = TransitionTracker()
    poll = [_replica(1, "PREEMPTED")]
    _run(tracker, [_replica(1, "READY")], poll, poll)
    assert _counts(tracker) == {("aws", "us-east-2"): (1, 0)}

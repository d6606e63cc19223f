"""The simulator's per-path request counts stay bounded while replica ids churn."""

from simulator.counter import RequestCounter


def test_churning_paths_are_bounded() -> None:
    counter = RequestCounter(max_paths=100)
    # A probe per replica per round, replicas replaced under new ids for hours.
    for replica_id in range(10_000):
        counter.hit("/services/svc/health")
        counter.hit(f"/replicas/svc/{replica_id}/health")
    assert len(counter) == 100
    assert counter.count("/services/svc/health") == 10_000
    assert counter.count("/replicas/svc/9999/health") == 1
    assert counter.count("/replicas/svc/0/health") == 0


def test_counts_and_snapshot() -> None:
    counter = RequestCounter()
    counter.hit("/a")
    counter.hit("/a")
    counter.hit("/b")
    assert counter.count("/a") == 2
    assert counter.count("/missing") == 0
    assert counter.snapshot() == {"/a": 2, "/b": 1}

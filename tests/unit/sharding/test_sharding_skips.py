"""Sharded, a skipped record is counted by one shard only: the sum over the shards of
``skyserve_exporter_records_skipped_total`` is what one exporter counts. And what a collector
keeps across runs (transition counters, static probe targets) follows the shard too."""

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from collectors.kubernetes.client import ContextListing
from collectors.kubernetes.records import PodRules, parse_cluster
from collectors.probes.config import DiscoverConfig, StaticTarget
from collectors.probes.endpoint import TargetBook
from collectors.skyserve.client import ControllerAnswer, PoolAnswer, ServeStatusAnswer
from collectors.skyserve.collector import Polled, SkyServeCollector
from collectors.skyserve.sharding import owned_records, record_name
from collectors.skyserve.wire import services_of
from exporter.sharding import UNSHARDED, CurrentShard, Shard
from tests.unit.probes.fakes import RecordingProber, fake_modules
from tests.unit.skyserve.helpers import ENDPOINT, context, render, samples

TOTAL = 3
SHARDS = [Shard(index, TOTAL) for index in range(TOTAL)]
NOW = 1_795_830_000.0


def summed(counts: list[Mapping[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for found in counts:
        total.update(found)
    return dict(+total)


def service(name: Any, status: str = "READY", replicas: list[Any] | None = None) -> dict[str, Any]:
    return {"name": name, "status": status, "replica_info": replicas if replicas is not None else []}


def replica(replica_id: Any, status: str = "READY") -> dict[str, Any]:
    return {"replica_id": replica_id, "status": status, "cloud": "AWS", "region": "us-east-2"}


def skyserve_answer(*, controller_problem: str | None, pool_reason: str | None) -> ServeStatusAnswer:
    services = (
        *(service(f"svc-{n}", replicas=[replica(1), replica(1), replica("x")]) for n in range(12)),
        service("svc-0"),  # duplicate_service
        "not a record",  # invalid_service, no name: the UNKEYED shard's
        {"status": "READY"},  # no name either
        service("lost", status=""),  # invalid_service, with a name
        service("bad-\ud800"),  # bad_encoding
    )
    controllers = (
        {"name": "sky-serve-controller-abc", "status": "UP"},
        {"name": "sky-serve-controller-abc", "status": "UP"},  # duplicate_controller
        {"name": "not-a-controller", "status": "UP"},  # invalid_controller
        None,
    )
    pools = (service("pool-a"), service("svc-3"), service("pool-b", status=""), 7)
    return ServeStatusAnswer(
        services=tuple(services_of(list(services))),
        upstream={},
        controllers=ControllerAnswer(() if controller_problem else controllers, controller_problem),
        pools=PoolAnswer(() if pool_reason else tuple(services_of(list(pools))), pool_reason, pool_reason),
    )


def test_skyserve_skip_counts_add_up_over_the_shards() -> None:
    for problem, reason in ((None, None), ("status failed", "pool_status_failed")):
        answer = skyserve_answer(controller_problem=problem, pool_reason=reason)
        whole = Polled.decode(answer).skipped
        assert whole  # the control: there is something to count
        assert summed([Polled.decode(answer, shard).skipped for shard in SHARDS]) == whole
    failed = skyserve_answer(controller_problem="down", pool_reason="pool_status_forbidden")
    # A failed call every shard made is counted once, by the shard that owns fleet-wide figures.
    counted = [Polled.decode(failed, shard).skipped.get("controller_status_failed", 0) for shard in SHARDS]
    assert sorted(counted) == [0, 0, 1]


def test_skyserve_keeps_the_records_it_owns_before_parsing() -> None:
    answer = skyserve_answer(controller_problem=None, pool_reason=None)
    kept = [owned_records(answer.services, shard) for shard in SHARDS]
    assert sorted(map(len, kept)) != [0, 0, len(answer.services)]
    assert sum(map(len, kept)) == len(answer.services)
    assert owned_records(answer.services, UNSHARDED) == answer.services
    assert record_name({"name": 3}) == record_name("x") == ""


def test_skyserve_transition_counters_follow_the_shard() -> None:
    """The tracker keeps a service's counters for an hour after it is last seen: after a reshard
    the old shard must not serve them beside the new owner's."""
    current = CurrentShard()
    collector = SkyServeCollector.from_config({"endpoint": ENDPOINT}, replace(context(), sharding=current))
    answer = ServeStatusAnswer(
        services=tuple(services_of([service(f"svc-{n}", replicas=[replica(1)]) for n in range(9)])),
        upstream={},
    )
    collector.build(collector_polled(answer, current()), NOW)
    current.set(SHARDS[1])
    text = render(collector.build(collector_polled(answer, current()), NOW + 30).families)
    counters = {
        dict(labels)["service_name"]
        for name, labels in samples(text)
        if name == "skyserve_replica_failures_total"
    }
    assert counters and counters == {f"svc-{n}" for n in range(9) if SHARDS[1].owns(f"svc-{n}")}


def collector_polled(answer: ServeStatusAnswer, shard: Shard) -> Polled:
    return Polled.decode(answer, shard)


def pod(name: str, service_name: str | None, node: str = "n1") -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": service_name} if service_name else {}
    return {
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {"nodeName": node},
        "status": {"phase": "Running"},
    }


def test_kubernetes_skip_counts_add_up_over_the_shards() -> None:
    pods = (
        *(pod(f"p-{n}", f"svc-{n % 7}") for n in range(20)),
        pod("p-0", "svc-0"),  # duplicate_pod
        pod("orphan", None),  # no_service_name
        {"metadata": "nope"},  # invalid_pod
        pod("enc", "svc-\ud800"),  # bad_encoding, its service's
    )
    nodes = (
        *({"metadata": {"name": f"n{n}", "labels": {}}} for n in range(6)),
        {"metadata": {}},  # invalid_node
        {"metadata": {"name": "node-\ud800", "labels": {}}},  # bad_encoding, its node's
    )
    listing = [ContextListing("ctx", pods, nodes)]
    rules = PodRules("app.kubernetes.io/name", include_skypilot=False)
    whole = parse_cluster(listing, rules)
    assert set(whole.skipped) == {
        "duplicate_pod",
        "no_service_name",
        "invalid_pod",
        "bad_encoding",
        "invalid_node",
    }
    clusters = [parse_cluster(listing, rules, shard) for shard in SHARDS]
    assert summed([cluster.skipped for cluster in clusters]) == whole.skipped
    assert sorted(p.name for c in clusters for p in c.pods) == sorted(p.name for p in whole.pods)
    # Every node stays known to every shard: pods are placed by their node.
    assert all(cluster.nodes == whole.nodes for cluster in clusters)


def test_static_probe_targets_are_probed_by_one_shard_and_answered_by_all() -> None:
    static = tuple(StaticTarget(name=f"site-{n}", url=f"http://site-{n}.example:80/") for n in range(12))
    current = CurrentShard()
    book = TargetBook(DiscoverConfig(), static, fake_modules(RecordingProber()), tuple, current)
    probed = []
    for shard in SHARDS:
        current.set(shard)
        probed.append({target.label for target in book.targets()})
        # /probe answers any configured target, whichever shard probes it in rounds.
        assert all(book.lookup(f"site-{n}").label == f"site-{n}" for n in range(12))
    assert sum(map(len, probed)) == 12
    assert set().union(*probed) == {f"site-{n}" for n in range(12)}
    assert all(probed)

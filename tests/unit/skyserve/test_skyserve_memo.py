"""Services parsed once: the memo gives what parse_fleet gives, and the same record for the same text."""

import copy
import json
import random
from typing import Any

import pytest

from collectors.skyserve.memo import ServiceMemo
from collectors.skyserve.records import BAD_ENCODING, DUPLICATE_SERVICE, INVALID_SERVICE, parse_fleet
from collectors.skyserve.sharding import owned_records
from collectors.skyserve.wire import services_of, split_services
from exporter.errors import UpstreamParseError
from exporter.sharding import UNSHARDED, Shard
from tests.unit.skyserve.helpers import recorded_services

SHARDS = tuple(Shard(index, 3) for index in range(3))


def _replica(replica_id: object, status: str = "READY", **extra: object) -> dict[str, object]:
    placed = {"cloud": "AWS", "region": "us-east-2", "infra": "AWS (us-east-2a)"}
    return {"replica_id": replica_id, "status": status, **placed, **extra}


def _service(name: object, replicas: int = 3, **extra: object) -> dict[str, object]:
    return {"name": name, "status": "READY", "replica_info": [_replica(n) for n in range(replicas)], **extra}


def _fleet() -> list[Any]:
    """Recorded services and every kind of record the parser skips or counts."""
    return [
        *recorded_services(),
        *(_service(f"svc-{n}", replicas=n % 4) for n in range(12)),
        _service("svc-3"),  # a duplicate name, with another text
        _service("svc-5", replicas=5 % 4),  # a duplicate with the very same text
        _service(None),  # no name
        7,  # not an object
        None,
        _service("bad-replicas", replicas=0, replica_info=[_replica("x"), 7, _replica(1), _replica(1)]),
    ]


def _split(services: list[Any]) -> list[Any]:
    return split_services(json.dumps(services), "serve.status")


def _by_name(services: list[Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in services if isinstance(s, dict) and s.get("name") == name)
    return found


def test_the_memo_parses_as_parse_fleet_does_at_every_poll() -> None:
    services = _fleet()
    memo = ServiceMemo()
    expected = parse_fleet(services)
    assert expected.skipped  # the control: there is something to count
    assert {DUPLICATE_SERVICE, INVALID_SERVICE} <= expected.skipped.keys()
    first = memo.fleet(_split(services))
    assert first == expected
    assert memo.reused == 0
    second = memo.fleet(_split(services))
    assert second == expected
    distinct = len({json.dumps(s) for s in services})
    assert memo.reused == distinct


def test_an_unchanged_service_is_the_same_record_and_a_changed_one_is_new() -> None:
    services = _fleet()
    memo = ServiceMemo()
    before = {s.name: s for s in memo.fleet(_split(services)).services}
    changed = copy.deepcopy(services)
    _by_name(changed, "svc-2")["replica_info"][1]["status"] = "NOT_READY"
    after = {s.name: s for s in memo.fleet(_split(changed)).services}
    assert memo.fleet(_split(changed)) == parse_fleet(changed)
    assert after["svc-2"] is not before["svc-2"]
    assert [r.status for r in after["svc-2"].replicas] == ["READY", "NOT_READY"]
    assert all(after[name] is before[name] for name in before if name != "svc-2")


def test_a_service_gone_for_one_poll_is_parsed_again() -> None:
    services = [_service("a"), _service("b")]
    memo = ServiceMemo()
    first = memo.fleet(_split(services))
    memo.fleet(_split(services[:1]))
    again = memo.fleet(_split(services))
    assert again == first
    assert again.services[0] is first.services[0]
    assert again.services[1] is not first.services[1]  # only the last poll is kept
    assert memo.reused == 1


def test_changes_at_random_parse_as_parse_fleet_does() -> None:
    rng = random.Random(7)
    services = [_service(f"svc-{n}", replicas=rng.randrange(6)) for n in range(40)]
    memo = ServiceMemo()
    for _ in range(30):
        picked = services[rng.randrange(len(services))]
        replicas = picked["replica_info"]
        assert isinstance(replicas, list)
        choice = rng.randrange(4)
        if choice == 0 and replicas:
            replicas[rng.randrange(len(replicas))]["status"] = rng.choice(["READY", "FAILED", "PREEMPTED"])
        elif choice == 1:
            replicas.append(_replica(len(replicas) + rng.randrange(3)))  # sometimes a duplicate id
        elif choice == 2:
            services.append(_service(f"new-{rng.randrange(10)}", replicas=2))  # sometimes a duplicate
        else:
            services.remove(picked)
        assert memo.fleet(_split(services)) == parse_fleet(services)


@pytest.mark.parametrize("shard", SHARDS)
def test_a_shard_gets_what_parse_fleet_gives_for_the_records_it_owns(shard: Shard) -> None:
    services = _fleet()
    memo = ServiceMemo()
    expected = parse_fleet(owned_records(services_of(services), shard))
    assert memo.fleet(_split(services), shard) == expected
    assert memo.fleet(_split(services), shard) == expected


def test_services_another_shard_owned_are_parsed_when_this_shard_comes_to_own_them() -> None:
    services = _fleet()
    memo = ServiceMemo()
    owned = [memo.fleet(_split(services), shard) for shard in SHARDS]
    assert sorted(len(f.services) for f in owned) != [0, 0, len(parse_fleet(services).services)]
    # The same memo, resharded: every service is now this process's, and parsed.
    assert memo.fleet(_split(services), UNSHARDED) == parse_fleet(services)


def test_a_lone_surrogate_is_one_service_skipped() -> None:
    lone = '{"name": "lone-\\ud800", "status": "READY", "replica_info": []}'
    text = f'[{lone}, {{"name": "ok", "status": "READY"}}]'
    memo = ServiceMemo()
    fleet = memo.fleet(split_services(text, "serve.status"))
    assert [s.name for s in fleet.services] == ["ok"]
    assert fleet.skipped == {BAD_ENCODING: 1}


def test_a_service_text_that_is_not_utf8_fails_the_answer_as_before() -> None:
    sources = split_services(b'[{"name": "ok", "status": "READY"}, {"name": "\xff"}]', "serve.status")
    with pytest.raises(UpstreamParseError, match="not valid UTF-8"):
        ServiceMemo().fleet(sources)


def test_an_answer_that_is_not_a_list_is_still_refused_whole() -> None:
    with pytest.raises(UpstreamParseError, match="not a list"):
        split_services('{"name": "s"}', "serve.status")

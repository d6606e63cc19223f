"""exporter.sharding: every key has exactly one owner, the same in every process."""

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from exporter.app import create_app
from exporter.collector import CollectorContext
from exporter.sharding import UNKEYED, UNSHARDED, CurrentShard, Shard, fnv1a_64, key_hash
from exporter.snapshot import SnapshotStore

ROOT = Path(__file__).resolve().parents[3]
KEYS = [f"service-{n}" for n in range(900)] + ["llama-70b", "gpu-box-1", "sky-serve-controller-7f3e9a1c", ""]


def test_fnv1a_64_is_gos_new64a() -> None:
    # Go: fnv.New64a(); h.Write([]byte(s)); h.Sum64()
    assert fnv1a_64(b"") == 0xCBF29CE484222325
    assert fnv1a_64(b"a") == 0xAF63DC4C8601EC8C
    assert fnv1a_64(b"foobar") == 0x85944171F73967E8


def test_every_key_has_exactly_one_owner_and_every_shard_a_share() -> None:
    for total in (2, 3, 7):
        shards = [Shard(index, total) for index in range(total)]
        owners = {key: [s.index for s in shards if s.owns(key)] for key in KEYS}
        assert all(len(found) == 1 for found in owners.values()), total
        shares = [sum(1 for found in owners.values() if found == [s.index]) for s in shards]
        # FNV-1a spreads these names evenly enough: no shard gets under half its fair share.
        assert min(shares) > len(KEYS) / total / 2, (total, shares)


def test_the_owner_is_the_same_in_another_process_with_another_hash_seed() -> None:
    code = (
        "from exporter.sharding import Shard\n"
        f"keys = {KEYS[:50]!r}\n"
        "print(''.join(str(next(i for i in range(5) if Shard(i, 5).owns(k))) for k in keys))\n"
    )
    here = "".join(str(next(i for i in range(5) if Shard(i, 5).owns(k))) for k in KEYS[:50])
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60
        )
        assert result.stdout.strip() == here
    assert len(set(here)) == 5


def test_unsharded_owns_everything_and_a_surplus_shard_nothing() -> None:
    assert all(UNSHARDED.owns(key) for key in KEYS)
    assert Shard(0, 1) == UNSHARDED and not UNSHARDED.sharded
    # A pod past its StatefulSet's replicas, serving until it is stopped.
    assert not any(Shard(3, 3).owns(key) for key in KEYS)
    assert not Shard(1, 1).owner()("anything")


def test_the_unkeyed_owner_is_one_shard() -> None:
    assert sum(Shard(index, 4).owns(UNKEYED) for index in range(4)) == 1


def test_a_name_that_cannot_be_utf8_still_has_one_owner() -> None:
    name = "bad-\ud800-name"
    assert sum(Shard(index, 3).owns(name) for index in range(3)) == 1
    assert key_hash(name) == fnv1a_64(name.encode("utf-8", "surrogatepass"))


def test_owner_answers_as_owns() -> None:
    shard = Shard(1, 3)
    owns = shard.owner()
    assert [owns(key) for key in KEYS * 2] == [shard.owns(key) for key in KEYS * 2]


@pytest.mark.parametrize(("index", "total"), [(0, 0), (-1, 3)])
def test_impossible_shards_are_refused(index: int, total: int) -> None:
    with pytest.raises(ValueError, match="shard"):
        Shard(index, total)


def test_the_current_shard_is_swapped_whole_and_says_when_it_changed() -> None:
    current = CurrentShard()
    assert current() == UNSHARDED
    assert current.set(Shard(1, 3)) is True
    assert current.set(Shard(1, 3)) is False
    assert current() == Shard(1, 3)
    assert current().describe() == "shard 1 of 3"


def test_collectors_read_the_shard_through_their_context_at_each_call() -> None:
    current = CurrentShard(Shard(0, 2))
    log = logging.getLogger("test")
    context = CollectorContext(requests.Session, time.time, log, {}, sharding=current)
    kept = context.shard  # what a collector keeps at construction
    assert kept() == Shard(0, 2)
    current.set(Shard(1, 4))
    assert kept() == Shard(1, 4)
    default = CollectorContext(requests.Session, time.time, log, {})
    assert default.shard() == UNSHARDED


def test_the_app_serves_the_shard_in_force_in_metrics_status_and_console() -> None:
    current = CurrentShard(Shard(1, 3))
    client = create_app(SnapshotStore({}), time.time, shard=current).test_client()
    assert 'skyserve_exporter_shard_info{shard="1",total_shards="3"} 1.0' in client.get("/metrics").text
    status = client.get("/api/v1/status").get_json()
    assert status is not None and status["shard"] == {"index": 1, "total": 3}
    assert "Shard 1 of 3." in client.get("/").text
    current.set(Shard(2, 4))  # resharded while running: the cached scrape must not hide it
    body = client.get("/metrics").text
    assert 'skyserve_exporter_shard_info{shard="2",total_shards="4"} 1.0' in body
    assert "skyserve_exporter_total_shards 4.0" in body
    unsharded = create_app(SnapshotStore({}), time.time).test_client()
    assert 'skyserve_exporter_shard_info{shard="0",total_shards="1"} 1.0' in unsharded.get("/metrics").text
    assert 'id="shard-banner"' not in unsharded.get("/").text

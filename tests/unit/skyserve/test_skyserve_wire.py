"""Decoding serve.status answers into wire records: the typed path and the lenient one agree."""

import json

import pytest

from collectors.skyserve.records import BAD_ENCODING, INVALID_REPLICA, INVALID_SERVICE, parse_fleet
from collectors.skyserve.wire import ReplicaWire, ServiceWire, decode_services, services_of
from exporter.errors import UpstreamParseError
from tests.unit.skyserve.helpers import recorded_services


def _replica(replica_id: object, **extra: object) -> dict[str, object]:
    return {"replica_id": replica_id, "status": "READY", "cloud": "AWS", "region": "us-east-2", **extra}


def _text(services: object) -> str:
    return json.dumps(services)


def test_the_typed_decoder_reads_what_the_lenient_path_reads() -> None:
    services = recorded_services()
    typed = decode_services(_text(services), "serve.status")
    assert typed == services_of(services)
    assert parse_fleet(typed) == parse_fleet(services)


def test_keys_never_read_are_not_kept() -> None:
    replicas = [_replica(1, handle="gASVpickle", log="x" * 1000)]
    service = {"name": "s", "status": "READY", "yaml_content": "token: hunter2", "replica_info": replicas}
    decoded = decode_services(_text([service]), "serve.status")
    assert decoded == [ServiceWire(name="s", status="READY", replica_info=[ReplicaWire(**_replica(1))])]
    assert "hunter2" not in repr(decoded) and "pickle" not in repr(decoded)


def test_a_replica_that_is_not_an_object_is_skipped_and_the_rest_kept() -> None:
    services = [{"name": "s", "status": "READY", "replica_info": [_replica(1), 7, _replica(2)]}]
    fleet = parse_fleet(decode_services(_text(services), "serve.status"))
    assert [r.replica_id for r in fleet.services[0].replicas] == [1, 2]
    assert fleet.skipped == {INVALID_REPLICA: 1}


@pytest.mark.parametrize("replica_info", ["three", None, {"1": {}}])
def test_a_service_whose_replicas_are_not_a_list_is_skipped(replica_info: object) -> None:
    services = [
        {"name": "bad", "status": "READY", "replica_info": replica_info},
        "not a service",
        {"name": "ok", "status": "READY", "replica_info": [_replica(1)]},
    ]
    fleet = parse_fleet(decode_services(_text(services), "serve.status"))
    assert [s.name for s in fleet.services] == ["ok"]
    assert fleet.skipped == {INVALID_SERVICE: 2}


def test_a_lone_surrogate_is_one_record_skipped_not_a_failed_answer() -> None:
    # msgspec refuses the escape; the lenient path reads it and the parser skips that service.
    text = '[{"name": "lone-\\ud800", "status": "READY"}, {"name": "ok", "status": "READY"}]'
    fleet = parse_fleet(decode_services(text, "serve.status"))
    assert [s.name for s in fleet.services] == ["ok"]
    assert fleet.skipped == {BAD_ENCODING: 1}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b'{"name": "s"}', "serve.status return_value is a dict, not a list"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'[{"name": "\xff"}]', "not valid UTF-8"),
        (b'[{"name": ', "not valid JSON"),
    ],
)
def test_an_answer_that_cannot_be_read_is_a_parse_error_saying_why(text: bytes, reason: str) -> None:
    with pytest.raises(UpstreamParseError, match=reason):
        decode_services(text, "serve.status")

"""The API server's answers decoded straight into typed wire records, reading only the keys used.

``serve.status`` for 100,000 replicas is tens of megabytes of JSON in which each replica carries
many keys the exporter never reads; decoded by ``json`` into dicts, every one of them becomes a
Python object. msgspec decodes into the structs below and skips unknown keys without making
objects for them, so the decoded answer is a fraction of the size and is made several times
faster. Every field is typed ``Any`` on purpose: a value of the wrong type is the record parser's
business (``records.py`` skips and counts the record), not a reason to reject the whole answer.

What msgspec does refuse (a service or replica that is not a JSON object, a lone UTF-16
surrogate, bytes that are not UTF-8, JSON nested too deeply) sends the answer down the lenient
path: decoded by ``json`` (``exporter.upstream.loads_json``, whose errors say what was wrong) and
converted record by record, so one bad record is still skipped and counted, not fatal.

``serve.status`` is split first (``split_services``): each service stays its undecoded JSON text
(a ``msgspec.Raw``) until ``service_of`` decodes it, so that a service whose text is the last
poll's need not be decoded again (``memo.ServiceMemo``).
"""

from collections.abc import Mapping
from typing import Any

import msgspec

from exporter.errors import UpstreamParseError
from exporter.upstream import loads_json


class ReplicaWire(msgspec.Struct, gc=False):
    """The keys of a ``replica_info`` entry the exporter reads (a pool worker's too)."""

    replica_id: Any = None
    status: Any = None
    version: Any = None
    endpoint: Any = None
    is_spot: Any = None
    launched_at: Any = None
    cloud: Any = None
    region: Any = None
    infra: Any = None
    resources_str_full: Any = None
    used_by: Any = None


class ServiceWire(msgspec.Struct, gc=False):
    """The keys of a ``serve.status`` (or ``jobs.pool_status``) record the exporter reads.

    ``replica_info`` is None when the key holds something other than a list; an entry is None
    when it is not a JSON object. The parser counts both.
    """

    name: Any = None
    status: Any = None
    uptime: Any = None
    endpoint: Any = None
    version: Any = None
    active_versions: Any = None
    policy: Any = None
    load_balancing_policy: Any = None
    tls_encrypted: Any = None
    target_num_replicas: Any = None
    replica_info: list[ReplicaWire | None] | None = msgspec.field(default_factory=list)


class PayloadWire(msgspec.Struct, gc=False):
    """The keys of an ``/api/get`` payload the exporter reads."""

    status: Any = None
    return_value: Any = None
    error: Any = None


# A service as the collector receives it: its JSON text still undecoded, or decoded already.
ServiceSource = ServiceWire | msgspec.Raw | None

_SERVICES = msgspec.json.Decoder(list[ServiceWire | None])
_SERVICE = msgspec.json.Decoder(ServiceWire | None)
_TEXTS = msgspec.json.Decoder(list[msgspec.Raw])
_PAYLOAD = msgspec.json.Decoder(PayloadWire)
_REPLICA_KEYS = tuple(ReplicaWire.__struct_fields__)
_SERVICE_KEYS = tuple(key for key in ServiceWire.__struct_fields__ if key != "replica_info")


def decode_services(text: str | bytes | bytearray, what: str) -> list[ServiceWire | None]:
    """The records of a ``serve.status`` or ``jobs.pool_status`` return value; UpstreamParseError
    when it is not JSON or not a list."""
    try:
        return _SERVICES.decode(text)
    except (msgspec.MsgspecError, RecursionError):
        records = loads_json(text, f"/api/get payload {'return_value'!r}")
    if not isinstance(records, list):
        raise UpstreamParseError(f"{what} return_value is a {type(records).__name__}, not a list")
    return services_of(records)


def split_services(text: str | bytes | bytearray, what: str) -> list[ServiceSource]:
    """The records of a ``serve.status`` return value, each its own undecoded text; when msgspec
    cannot even split the answer, the records ``decode_services`` makes (or its error)."""
    try:
        return list(_TEXTS.decode(text))
    except (msgspec.MsgspecError, RecursionError):
        return list(decode_services(text, what))


def service_of(source: ServiceSource | Mapping[str, Any]) -> ServiceWire | None:
    """A service's wire record, decoded from its text when it is one (None when the text is not a
    JSON object); UpstreamParseError when the text is not JSON at all, as for the whole answer.
    A record ``json`` decoded (a dict) is converted as ``services_of`` converts it."""
    if isinstance(source, Mapping):
        return _service(source)
    if not isinstance(source, msgspec.Raw):
        return source
    try:
        return _SERVICE.decode(source)
    except (msgspec.MsgspecError, RecursionError):
        record = loads_json(bytes(source), f"/api/get payload {'return_value'!r}")
    return _service(record) if isinstance(record, Mapping) else None


def decode_payload_fields(body: bytes | bytearray, what: str) -> Mapping[str, Any] | Any:
    """An ``/api/get`` answer's payload keys as a mapping, or the whole document, decoded by
    ``json``, when it is not an object (for the caller to refuse with its own message)."""
    try:
        payload = _PAYLOAD.decode(body)
    except (msgspec.MsgspecError, RecursionError):
        return loads_json(body, what)
    return {key: getattr(payload, key) for key in PayloadWire.__struct_fields__}


def services_of(records: list[Any]) -> list[ServiceWire | None]:
    """Records decoded by ``json`` (dicts), as the typed decoder would have made them."""
    return [_service(record) if isinstance(record, Mapping) else None for record in records]


def replica_of(record: Mapping[str, Any]) -> ReplicaWire:
    return ReplicaWire(**{key: record[key] for key in _REPLICA_KEYS if key in record})


def _service(record: Mapping[str, Any]) -> ServiceWire:
    fields = {key: record[key] for key in _SERVICE_KEYS if key in record}
    replicas = record.get("replica_info", [])
    if not isinstance(replicas, list):
        return ServiceWire(**fields, replica_info=None)
    listed = [replica_of(r) if isinstance(r, Mapping) else None for r in replicas]
    return ServiceWire(**fields, replica_info=listed)

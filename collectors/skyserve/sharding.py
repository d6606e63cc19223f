"""Which SkyServe records a shard keeps: each service, pool and controller is owned by its name.

Every family of the collector belongs to one of them (a replica to its service or pool, a
transition counter to its service), so a shard keeps the raw records it owns before they are
parsed and no series is built twice. A record without a readable name belongs to the shard that
owns ``UNKEYED``, which counts it as skipped; so does a call every shard makes and that failed
(the controllers' or pools' status), so skip counts add up over the shards.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from exporter.sharding import UNKEYED, Shard


def record_name(record: Any) -> str:
    """The ``name`` of a raw service, pool or controller record, or UNKEYED when it has none."""
    name = record.get("name") if isinstance(record, Mapping) else getattr(record, "name", None)
    return name if isinstance(name, str) else UNKEYED


def owned_records(records: Iterable[Any], shard: Shard) -> tuple[Any, ...]:
    """The raw records of the objects ``shard`` owns, in upstream order."""
    if not shard.sharded:
        return tuple(records)
    owns: Callable[[str], bool] = shard.owner()
    return tuple(record for record in records if owns(record_name(record)))

"""The ``collectors.baremetal`` config section."""

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator

from exporter.collector import CollectorConfig
from exporter.durations import Duration

MAX_CONCURRENCY = 1024


class BareMetalConfig(CollectorConfig):
    """Where the nodes are listed and how hard to check them.

    ``timeout`` bounds each single check (not the whole run); ``concurrency`` bounds the checks in
    flight at once.
    """

    inventory: Path | None = None
    ssh_node_pools: Path | None = None
    timeout: Duration = 5.0
    concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] = 64

    @field_validator("inventory", "ssh_node_pools")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser()

    @model_validator(mode="after")
    def _has_nodes_and_time(self) -> Self:
        if self.inventory is None and self.ssh_node_pools is None:
            raise ValueError("give inventory, ssh_node_pools or both: there are no nodes to check")
        if self.timeout >= self.interval and "timeout" not in self.model_fields_set:
            # Left unset under a short interval: checks get half of it, so a run can still end
            # before the next one is due.
            object.__setattr__(self, "timeout", self.interval / 2)
        if self.timeout >= self.interval:
            # A run must end before the next one is due, or runs would be skipped.
            raise ValueError(
                f"timeout ({self.timeout:g}s) must be shorter than interval ({self.interval:g}s)"
            )
        return self

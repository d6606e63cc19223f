"""The ``collectors.baremetal`` config section."""

from typing import Annotated, Self

from pydantic import Field, model_validator

from exporter.collector import CollectorConfig
from exporter.config_errors import key_error
from exporter.durations import Duration
from exporter.paths import ConfigPath

MAX_CONCURRENCY = 1024


class BareMetalConfig(CollectorConfig):
    """Where the nodes are listed and how hard to check them.

    ``timeout`` bounds each single check (not the whole run); ``concurrency`` bounds the checks in
    flight at once.
    """

    inventory: ConfigPath | None = None
    ssh_node_pools: ConfigPath | None = None
    timeout: Duration = 5.0
    concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] = 64

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
            raise key_error(
                "timeout", f"{self.timeout:g}s must be shorter than interval ({self.interval:g}s)"
            )
        return self

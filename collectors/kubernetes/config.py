"""The ``collectors.kubernetes`` config section."""

from typing import Annotated, Final

from pydantic import Field, field_validator

from exporter.collector import CollectorConfig
from exporter.paths import ConfigPath

DEFAULT_SERVICE_LABEL: Final = "app.kubernetes.io/name"
# The label SkyPilot puts on every pod it creates (sky/provision/constants.py).
SKYPILOT_CLUSTER_LABEL: Final = "skypilot-cluster-name"

_Name = Annotated[str, Field(min_length=1)]


class KubernetesConfig(CollectorConfig):
    """Which clusters to read and which pods in them are serving replicas.

    ``kubeconfig`` absent means the in-cluster service account; ``contexts`` empty means the
    kubeconfig's current context; ``namespaces`` empty means all namespaces; ``selector`` empty
    means every pod (so set it, or namespaces, on a shared cluster).
    """

    kubeconfig: ConfigPath | None = None
    contexts: tuple[_Name, ...] = ()
    namespaces: tuple[_Name, ...] = ()
    selector: str = ""
    service_label: _Name = DEFAULT_SERVICE_LABEL
    # Pods SkyPilot created are SkyServe replicas already; counting them here would count them twice.
    include_skypilot: bool = False
    # Objects per list request: big enough for few round trips, small enough to bound memory.
    page_size: int = Field(default=500, ge=1, le=10_000)

    @field_validator("contexts", "namespaces")
    @classmethod
    def _unique(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        duplicates = sorted({value for value in values if values.count(value) > 1})
        if duplicates:
            raise ValueError(f"listed more than once: {', '.join(duplicates)}")
        return values

    @property
    def effective_selector(self) -> str:
        """The label selector sent to the API server; SkyPilot's pods are excluded there already."""
        parts = [self.selector.strip()] if self.selector.strip() else []
        if not self.include_skypilot:
            parts.append(f"!{SKYPILOT_CLUSTER_LABEL}")
        return ",".join(parts)

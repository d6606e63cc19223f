"""The top-level ``pricing:`` section of the config file."""

from pathlib import Path
from typing import Annotated, Final, Literal, Self

from pydantic import Field, field_validator, model_validator

from exporter.collector import SectionConfig, StrictModel
from exporter.durations import Duration
from exporter.upstream import DEFAULT_BODY_SIZE_LIMIT, ByteSize

# SkyPilot 0.14's sky/skylet/constants.py: HOSTED_CATALOG_DIR_URL (and its S3 mirror, used on
# HTTP 429) joined with CATALOG_SCHEMA_VERSION.
DEFAULT_REFRESH_URL: Final = (
    "https://raw.githubusercontent.com/skypilot-org/skypilot-catalog/master/catalogs/v8"
)
DEFAULT_REFRESH_FALLBACK_URL: Final = "https://skypilot-catalog.s3.us-east-1.amazonaws.com/catalogs/v8"

Rate = Annotated[float, Field(ge=0, allow_inf_nan=False)]
# Without refresh there is nothing to fetch; health is still re-read, cheaply, this often.
HEALTH_INTERVAL_SECONDS: Final = 300.0


class PricingRates(StrictModel):
    """SkyPilot's ``kubernetes.pricing`` shape; a key left out is not set (SkyPilot treats it as 0)."""

    cpu: Rate | None = None  # $ per vCPU-hour
    memory: Rate | None = None  # $ per GiB-hour
    accelerators: dict[str, Rate] = Field(default_factory=dict)  # $ per device-hour, by name


class KubernetesPricing(PricingRates):
    """Rates for every Kubernetes context and SSH node pool, with per-context overrides.

    A context's entry replaces the keys it sets; its accelerators merge name by name
    (SkyPilot's ``merge_pricing_dicts``). SSH node pools are contexts named ``ssh-<pool>``.
    """

    context_configs: dict[str, PricingRates] = Field(default_factory=dict)


class PriceOverride(StrictModel):
    """A fixed hourly price per node for whatever matches; the rule matching most fields wins."""

    cloud: str | None = None
    region: str | None = None
    instance_type: str | None = None
    accelerator: str | None = None
    spot: bool | None = None
    hourly: Rate

    @model_validator(mode="after")
    def _needs_a_match(self) -> Self:
        if all(value is None for value in (self.cloud, self.region, self.instance_type, self.accelerator)):
            raise ValueError("an override needs at least one of cloud, region, instance_type, accelerator")
        return self


class PricingConfig(SectionConfig):
    """The top-level ``pricing:`` section; ``enabled: false`` leaves every replica unpriced."""

    catalog_dir: Path = Path("~/.sky/catalogs/v8")
    clouds: tuple[str, ...] | None = None  # None: every <cloud>/vms.csv found in catalog_dir
    refresh: Literal["off"] | Duration = "off"
    refresh_url: str = DEFAULT_REFRESH_URL
    refresh_fallback_url: str | None = DEFAULT_REFRESH_FALLBACK_URL
    refresh_timeout: Duration = 60.0
    body_size_limit: ByteSize = DEFAULT_BODY_SIZE_LIMIT  # per catalog download, as on collector sections
    kubernetes: KubernetesPricing | None = None
    skypilot_config: Path | None = None  # a SkyPilot config.yaml to read kubernetes.pricing from
    overrides: tuple[PriceOverride, ...] = ()

    @field_validator("clouds")
    @classmethod
    def _lower_case(cls, clouds: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if clouds is None else tuple(cloud.strip().lower() for cloud in clouds)

    @property
    def catalog_path(self) -> Path:
        return self.catalog_dir.expanduser()

    @property
    def refresh_interval(self) -> float | None:
        """Seconds between catalog downloads, or None when refresh is off."""
        return None if self.refresh == "off" else float(self.refresh)

    @property
    def run_interval(self) -> float:
        """How often the pricing collector runs: at each refresh, else to re-read catalog health."""
        return self.refresh_interval or HEALTH_INTERVAL_SECONDS

    @property
    def stale_after_seconds(self) -> float:
        return 3 * self.run_interval

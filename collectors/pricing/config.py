"""The top-level ``pricing:`` section of the config file, and the Kubernetes rates of a SkyPilot config.yaml.

``skypilot_config`` names a SkyPilot config.yaml whose ``kubernetes.pricing`` and per-context
overrides are read straight from the file. SkyPilot 0.14 reads ``kubernetes.pricing`` and
``kubernetes.context_configs.<context>.pricing`` (``sky/catalog/kubernetes_catalog.py::_get_pricing``,
schema ``_PRICING_SCHEMA`` in ``sky/utils/schemas.py``: ``cpu``, ``memory``, ``accelerators``, no
other keys). Everything else in the file is ignored.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self

import pydantic
import yaml
from pydantic import Field, field_validator, model_validator

from exporter.collector import SectionConfig, StrictModel
from exporter.config_errors import ConfigError, format_validation_error
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


_SKYPILOT_CONFIG_KEY = "pricing.skypilot_config"


def read_skypilot_pricing(path: Path) -> KubernetesPricing | None:
    """The file's Kubernetes pricing; None when it sets none. Raises ConfigError naming the problem."""
    document = _read_document(path)
    kubernetes = document.get("kubernetes") or {}
    if not isinstance(kubernetes, Mapping):
        raise ConfigError([f"{_SKYPILOT_CONFIG_KEY}: {path}: kubernetes: expected a mapping"])
    contexts = {
        name: section["pricing"]
        for name, section in _mapping(kubernetes.get("context_configs"), path).items()
        if isinstance(section, Mapping) and section.get("pricing") is not None
    }
    top = kubernetes.get("pricing")
    if top is None and not contexts:
        return None
    problems: list[str] = []
    rates = _rates(top or {}, f"{_SKYPILOT_CONFIG_KEY}: {path}: kubernetes.pricing", problems)
    context_configs = {
        name: _rates(
            value, f"{_SKYPILOT_CONFIG_KEY}: {path}: kubernetes.context_configs.{name}.pricing", problems
        )
        for name, value in contexts.items()
    }
    if problems:
        raise ConfigError(problems)
    return KubernetesPricing(**rates.model_dump(), context_configs=context_configs)


def _rates(value: Any, prefix: str, problems: list[str]) -> PricingRates:
    try:
        return PricingRates.model_validate(value)
    except pydantic.ValidationError as exc:
        problems.extend(format_validation_error(exc, prefix=prefix))
        return PricingRates()


def _read_document(path: Path) -> Mapping[str, Any]:
    try:
        document = yaml.safe_load(path.expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{_SKYPILOT_CONFIG_KEY}: cannot read {path}: {exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{_SKYPILOT_CONFIG_KEY}: {path} is not valid YAML: {exc}"]) from None
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ConfigError([f"{_SKYPILOT_CONFIG_KEY}: {path}: expected a mapping at the top level"])
    return document


def _mapping(value: Any, path: Path) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError([f"{_SKYPILOT_CONFIG_KEY}: {path}: kubernetes.context_configs: expected a mapping"])
    return value

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
from urllib.parse import urlsplit

import pydantic
import yaml
from pydantic import ConfigDict, Field, field_validator, model_validator

from exporter.collector import SectionConfig, StrictModel
from exporter.config_errors import SectionError, format_validation_error
from exporter.durations import Duration
from exporter.paths import ConfigPath
from exporter.ports import url_port
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

    # The refresh URLs may carry credentials: keep them out of validation error messages.
    model_config = ConfigDict(hide_input_in_errors=True)

    # Validated like a written value, so the default's ``~`` is expanded too.
    catalog_dir: ConfigPath = Field(default=Path("~/.sky/catalogs/v8"), validate_default=True)
    clouds: tuple[str, ...] | None = None  # None: every <cloud>/vms.csv found in catalog_dir
    refresh: Literal["off"] | Duration = "off"
    refresh_url: str = DEFAULT_REFRESH_URL
    refresh_fallback_url: str | None = DEFAULT_REFRESH_FALLBACK_URL
    refresh_timeout: Duration = 60.0
    body_size_limit: ByteSize = DEFAULT_BODY_SIZE_LIMIT  # per catalog download, as on collector sections
    kubernetes: KubernetesPricing | None = None
    skypilot_config: ConfigPath | None = None  # a SkyPilot config.yaml to read kubernetes.pricing from
    overrides: tuple[PriceOverride, ...] = ()

    @field_validator("clouds")
    @classmethod
    def _lower_case(cls, clouds: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if clouds is None else tuple(cloud.strip().lower() for cloud in clouds)

    @field_validator("refresh_url", "refresh_fallback_url")
    @classmethod
    def _is_http(cls, url: str | None) -> str | None:
        if url is not None:
            parts = urlsplit(url.strip())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                # Name only the scheme: the URL itself may carry credentials.
                raise ValueError(f"must be an http:// or https:// URL with a host (scheme {parts.scheme!r})")
            url_port(parts)
        return url

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


_SKYPILOT_CONFIG = "skypilot_config"  # the key naming the file, inside the section


def read_skypilot_pricing(path: Path) -> KubernetesPricing | None:
    """The file's Kubernetes pricing; None when it sets none. SectionError at ``skypilot_config``,
    one ``<file>: <path in it>: <reason>`` problem per mistake, when the file cannot be used."""
    document = _read_document(path)
    kubernetes = document.get("kubernetes") or {}
    if not isinstance(kubernetes, Mapping):
        raise _file_error(path, "kubernetes: expected a mapping")
    contexts = {
        name: section["pricing"]
        for name, section in _mapping(kubernetes.get("context_configs"), path).items()
        if isinstance(section, Mapping) and section.get("pricing") is not None
    }
    top = kubernetes.get("pricing")
    if top is None and not contexts:
        return None
    problems: list[str] = []
    rates = _rates(top or {}, "kubernetes.pricing", problems)
    context_configs = {
        name: _rates(value, f"kubernetes.context_configs.{name}.pricing", problems)
        for name, value in contexts.items()
    }
    if problems:
        raise SectionError.of([(_SKYPILOT_CONFIG, f"{path}: {problem}") for problem in problems])
    return KubernetesPricing(**rates.model_dump(), context_configs=context_configs)


def _file_error(path: Path, problem: str) -> SectionError:
    return SectionError(_SKYPILOT_CONFIG, f"{path}: {problem}")


def _rates(value: Any, prefix: str, problems: list[str]) -> PricingRates:
    try:
        return PricingRates.model_validate(value)
    except pydantic.ValidationError as exc:
        problems.extend(format_validation_error(exc, prefix=prefix))
        return PricingRates()


def _read_document(path: Path) -> Mapping[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _file_error(path, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise _file_error(path, "cannot read: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        # Only where: the parser's own words may quote the file, which may hold credentials.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise _file_error(path, f"not valid YAML{where}") from None
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise _file_error(path, "the top level must be a mapping")
    return document


def _mapping(value: Any, path: Path) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _file_error(path, "kubernetes.context_configs: expected a mapping")
    return value

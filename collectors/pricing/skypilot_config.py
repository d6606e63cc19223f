"""Reading ``kubernetes.pricing`` and its per-context overrides straight from a SkyPilot config.yaml.

SkyPilot 0.14 reads ``kubernetes.pricing`` and ``kubernetes.context_configs.<context>.pricing``
(``sky/catalog/kubernetes_catalog.py::_get_pricing``, schema ``_PRICING_SCHEMA`` in
``sky/utils/schemas.py``: ``cpu``, ``memory``, ``accelerators``, no other keys). Everything else in
the file is ignored.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic
import yaml

from collectors.pricing.config import KubernetesPricing, PricingRates
from exporter.config_errors import ConfigError, format_validation_error

_KEY = "pricing.skypilot_config"


def read_skypilot_pricing(path: Path) -> KubernetesPricing | None:
    """The file's Kubernetes pricing; None when it sets none. Raises ConfigError naming the problem."""
    document = _load(path)
    kubernetes = document.get("kubernetes") or {}
    if not isinstance(kubernetes, Mapping):
        raise ConfigError([f"{_KEY}: {path}: kubernetes: expected a mapping"])
    contexts = {
        name: section["pricing"]
        for name, section in _mapping(kubernetes.get("context_configs"), path).items()
        if isinstance(section, Mapping) and section.get("pricing") is not None
    }
    top = kubernetes.get("pricing")
    if top is None and not contexts:
        return None
    problems: list[str] = []
    rates = _rates(top or {}, f"{_KEY}: {path}: kubernetes.pricing", problems)
    context_configs = {
        name: _rates(value, f"{_KEY}: {path}: kubernetes.context_configs.{name}.pricing", problems)
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


def _load(path: Path) -> Mapping[str, Any]:
    try:
        document = yaml.safe_load(path.expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{_KEY}: cannot read {path}: {exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{_KEY}: {path} is not valid YAML: {exc}"]) from None
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ConfigError([f"{_KEY}: {path}: expected a mapping at the top level"])
    return document


def _mapping(value: Any, path: Path) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError([f"{_KEY}: {path}: kubernetes.context_configs: expected a mapping"])
    return value

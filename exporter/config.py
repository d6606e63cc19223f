"""The YAML config file: strictly validated, every mistake reported with its key path and reason."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import yaml

# The price book's config is the one section the framework itself reads: every collector prices
# through the same book.
from collectors.pricing.config import PricingConfig
from exporter.collector import CollectorConfig, CollectorFactory, StrictModel
from exporter.config_errors import ConfigError, format_validation_error
from exporter.registry import describe

__all__ = ["ConfigError", "EnabledCollector", "LoadedConfig", "load_config", "read_config", "validate_config"]


Sections = dict[str, dict[str, Any] | None]


class ExporterConfig(StrictModel):
    """The file's top level; each section is validated by its own model, for key paths in errors."""

    collectors: Sections = pydantic.Field(default_factory=dict)
    pricing: dict[str, Any] | None = None


@dataclass(frozen=True)
class EnabledCollector:
    factory: CollectorFactory
    config: CollectorConfig


@dataclass(frozen=True)
class LoadedConfig:
    collectors: list[EnabledCollector]
    pricing: PricingConfig


def load_config(
    path: Path | None, factories: Mapping[str, CollectorFactory], environ: Mapping[str, str]
) -> LoadedConfig:
    """What to run. Without a file, each collector's environment default decides."""
    return validate_config(read_config(path, factories, environ), factories)


def read_config(
    path: Path | None, factories: Mapping[str, CollectorFactory], environ: Mapping[str, str]
) -> ExporterConfig:
    """The raw sections, from the file or, without one, from the environment defaults."""
    if path is None:
        return ExporterConfig(collectors=_default_sections(factories, environ))
    return _config_from_file(path)


def validate_config(raw: ExporterConfig, factories: Mapping[str, CollectorFactory]) -> LoadedConfig:
    """Every section checked; all problems reported at once."""
    problems: list[str] = []
    collectors = _validate_collectors(raw.collectors, factories, problems)
    pricing = _validate_pricing(raw.pricing or {}, problems)
    if problems or pricing is None:
        raise ConfigError(problems)
    return LoadedConfig(collectors, pricing)


def _validate_pricing(section: dict[str, Any], problems: list[str]) -> PricingConfig | None:
    try:
        return PricingConfig.model_validate(section)
    except pydantic.ValidationError as exc:
        problems.extend(format_validation_error(exc, prefix="pricing"))
        return None


def _validate_collectors(
    sections: Sections, factories: Mapping[str, CollectorFactory], problems: list[str]
) -> list[EnabledCollector]:
    enabled = []
    for name, section in sections.items():
        if name not in factories:
            problems.append(f"collectors.{name}: unknown collector (installed: {describe(factories)})")
            continue
        config = _validate_section(name, factories[name], section or {}, problems)
        if config is not None and config.enabled:
            enabled.append(EnabledCollector(factories[name], config))
    return enabled


def _default_sections(factories: Mapping[str, CollectorFactory], environ: Mapping[str, str]) -> Sections:
    sections: Sections = {}
    for name, factory in factories.items():
        default = factory.default_config(environ)
        if default is not None:
            sections[name] = dict(default)
    return sections


def _config_from_file(path: Path) -> ExporterConfig:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {_yaml_reason(exc)}"]) from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError([f"{path}: the top level must be a mapping, got {type(document).__name__}"])
    try:
        return ExporterConfig.model_validate(document)
    except pydantic.ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def _validate_section(
    name: str, factory: CollectorFactory, section: Any, problems: list[str]
) -> CollectorConfig | None:
    try:
        return factory.config_model.model_validate(section)
    except pydantic.ValidationError as exc:
        problems.extend(format_validation_error(exc, prefix=f"collectors.{name}"))
        return None


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(problem)

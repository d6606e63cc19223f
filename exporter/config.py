"""The YAML config file: strictly validated, every mistake reported with its key path and reason.

Collectors are configured under ``collectors.<name>``; a plugin may instead claim a top-level key
(``TopLevelSection``: pricing claims ``pricing:``), which is on unless the file turns it off.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
import yaml

from exporter.collector import CollectorFactory, SectionConfig, StrictModel, top_level_key_of
from exporter.config_errors import ConfigError, format_validation_error, yaml_reason
from exporter.durations import WRITTEN
from exporter.paths import CONFIG_DIR
from exporter.registry import describe

__all__ = ["ConfigError", "EnabledCollector", "LoadedConfig", "load_config", "read_config", "validate_config"]


Sections = dict[str, dict[str, Any] | None]
_COLLECTORS_KEY = "collectors"


class ExporterConfig(StrictModel):
    """The raw sections, before each is validated by its own model (for key paths in errors).

    ``top_level`` holds the sections plugins claim at the top of the file, by key; a claimed key
    that is absent is absent here too.
    """

    collectors: Sections = pydantic.Field(default_factory=dict)
    top_level: Sections = pydantic.Field(default_factory=dict)
    base_dir: Path | None = None  # the config file's directory, which relative paths start from


@dataclass(frozen=True)
class EnabledCollector:
    factory: CollectorFactory
    config: SectionConfig


@dataclass(frozen=True)
class LoadedConfig:
    collectors: list[EnabledCollector] = field(default_factory=list)

    def config_of(self, name: str) -> SectionConfig | None:
        """The validated section of an enabled collector."""
        for enabled in self.collectors:
            if enabled.factory.name == name:
                return enabled.config
        return None


def load_config(
    path: Path | None, factories: Mapping[str, CollectorFactory], environ: Mapping[str, str]
) -> LoadedConfig:
    """What to run. Without a file, each collector's environment default decides."""
    return validate_config(read_config(path, factories, environ), factories)


def read_config(
    path: Path | None, factories: Mapping[str, CollectorFactory], environ: Mapping[str, str]
) -> ExporterConfig:
    """The raw sections, from the file or, without one, from the environment defaults.

    A top-level section the file leaves out takes its default, as without a file.
    """
    raw = ExporterConfig() if path is None else _config_from_file(path, _claimed_keys(factories))
    collectors = dict(raw.collectors)
    top_level = dict(raw.top_level)
    for name, factory in factories.items():
        key = top_level_key_of(factory)
        if path is not None and not key:
            continue
        default = None if key in top_level else factory.default_config(environ)
        if default is None:
            continue
        if key:
            top_level[key] = dict(default)
        else:
            collectors[name] = dict(default)
    return raw.model_copy(update={"collectors": collectors, "top_level": top_level})


def validate_config(raw: ExporterConfig, factories: Mapping[str, CollectorFactory]) -> LoadedConfig:
    """Every section checked; all problems reported at once."""
    problems: list[str] = []
    enabled: list[EnabledCollector] = []
    # What the validators of written values read: durations need a unit, paths start at the file.
    context = {WRITTEN: True, CONFIG_DIR: raw.base_dir}
    for name, section in raw.collectors.items():
        factory = factories.get(name)
        if factory is None:
            problems.append(f"collectors.{name}: unknown collector (installed: {describe(factories)})")
        elif key := top_level_key_of(factory):
            problems.append(f"collectors.{name}: configured by the top-level '{key}:' section")
        else:
            _enable(
                factory,
                section or {},
                f"collectors.{name}",
                context=context,
                enabled=enabled,
                problems=problems,
            )
    for factory in factories.values():
        key = top_level_key_of(factory)
        if key and key in raw.top_level:
            _enable(
                factory, raw.top_level[key] or {}, key, context=context, enabled=enabled, problems=problems
            )
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(enabled)


def _enable(
    factory: CollectorFactory,
    section: Mapping[str, Any],
    path: str,
    *,
    context: Mapping[str, object],
    enabled: list[EnabledCollector],
    problems: list[str],
) -> None:
    try:
        config = factory.config_model.model_validate(section, context=context)
    except pydantic.ValidationError as exc:
        problems.extend(format_validation_error(exc, prefix=path))
        return
    if config.enabled:
        enabled.append(EnabledCollector(factory, config))


def _claimed_keys(factories: Mapping[str, CollectorFactory]) -> set[str]:
    return {key for factory in factories.values() if (key := top_level_key_of(factory))}


def _config_from_file(path: Path, claimed: set[str]) -> ExporterConfig:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {yaml_reason(exc)}"]) from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError([f"{path}: the top level must be a mapping, got {type(document).__name__}"])
    known = sorted({_COLLECTORS_KEY, *claimed})
    problems = [f"{key}: unknown key (known: {', '.join(known)})" for key in document if key not in known]
    top_level = {key: value for key, value in document.items() if key in claimed}
    try:
        config = ExporterConfig.model_validate(
            {
                "collectors": document.get(_COLLECTORS_KEY) or {},
                "top_level": top_level,
                "base_dir": path.resolve().parent,
            }
        )
    except pydantic.ValidationError as exc:
        problems.extend(_without_container(line) for line in format_validation_error(exc))
        config = None
    if problems or config is None:
        raise ConfigError(problems)
    return config


def _without_container(problem: str) -> str:
    # The key path of a top-level section is its own key, not ``top_level.<key>``.
    return problem.removeprefix("top_level.")

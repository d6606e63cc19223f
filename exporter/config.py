"""The YAML config file: strictly validated, every mistake reported with its key path and reason."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import yaml

from exporter.collector import CollectorConfig, CollectorFactory, StrictModel
from exporter.registry import describe


class ConfigError(Exception):
    """A config that cannot run; ``problems`` are ``key.path: reason`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class ExporterConfig(StrictModel):
    collectors: dict[str, dict[str, Any] | None] = pydantic.Field(default_factory=dict)


@dataclass(frozen=True)
class EnabledCollector:
    factory: CollectorFactory
    config: CollectorConfig


Sections = dict[str, dict[str, Any] | None]


def load_config(
    path: Path | None, factories: Mapping[str, CollectorFactory], environ: Mapping[str, str]
) -> list[EnabledCollector]:
    """The collectors to run. Without a file, each collector's environment default decides."""
    return validate_sections(read_sections(path, factories, environ), factories)


def read_sections(
    path: Path | None, factories: Mapping[str, CollectorFactory], environ: Mapping[str, str]
) -> Sections:
    """The raw ``collectors`` sections, from the file or from the environment defaults."""
    if path is None:
        return _default_sections(factories, environ)
    return _sections_from_file(path)


def validate_sections(
    sections: Sections, factories: Mapping[str, CollectorFactory]
) -> list[EnabledCollector]:
    problems: list[str] = []
    enabled = []
    for name, section in sections.items():
        if name not in factories:
            problems.append(f"collectors.{name}: unknown collector (installed: {describe(factories)})")
            continue
        config = _validate_section(name, factories[name], section or {}, problems)
        if config is not None and config.enabled:
            enabled.append(EnabledCollector(factories[name], config))
    if problems:
        raise ConfigError(problems)
    return enabled


def _default_sections(factories: Mapping[str, CollectorFactory], environ: Mapping[str, str]) -> Sections:
    sections: Sections = {}
    for name, factory in factories.items():
        default = factory.default_config(environ)
        if default is not None:
            sections[name] = dict(default)
    return sections


def _sections_from_file(path: Path) -> Sections:
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
        return ExporterConfig.model_validate(document).collectors
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


def format_validation_error(exc: pydantic.ValidationError, prefix: str = "") -> list[str]:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            reason = "unknown key"
        lines.append(f"{path or '(top level)'}: {reason}")
    return lines


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(problem)

"""Relative paths in the config are relative to the config file, as in Prometheus."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from exporter.collector import CollectorConfig, CollectorFactory
from exporter.config import ExporterConfig, load_config, validate_config
from exporter.paths import ConfigPath
from tests.unit.framework.fakes import FakeCollector


class FileConfig(CollectorConfig):
    inventory: ConfigPath
    extra: ConfigPath | None = None


class Files(FakeCollector):
    name: ClassVar[str] = "files"
    config_model: ClassVar[type[CollectorConfig]] = FileConfig

    @classmethod
    def default_config(cls, environ: Mapping[str, str]) -> Mapping[str, Any] | None:
        return {"inventory": "nodes.yml"}


FACTORIES: dict[str, CollectorFactory] = {"files": Files}


def inventory_of(path: Path | None, environ: Mapping[str, str] | None = None) -> Path:
    (enabled,) = load_config(path, FACTORIES, environ or {}).collectors
    assert isinstance(enabled.config, FileConfig)
    return enabled.config.inventory


def test_a_relative_path_starts_at_the_config_files_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "etc"
    conf.mkdir()
    (conf / "config.yml").write_text("collectors:\n  files: {inventory: inventory/nodes.yml}\n")
    monkeypatch.chdir(tmp_path)
    assert inventory_of(Path("etc/config.yml")) == conf.resolve() / "inventory" / "nodes.yml"


def test_absolute_and_home_paths_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = tmp_path / "config.yml"
    config.write_text("collectors:\n  files: {inventory: /srv/nodes.yml, extra: ~/pools.yaml}\n")
    (enabled,) = load_config(config, FACTORIES, {}).collectors
    assert isinstance(enabled.config, FileConfig)
    assert enabled.config.inventory == Path("/srv/nodes.yml")
    assert enabled.config.extra == tmp_path / "home" / "pools.yaml"


def test_without_a_file_a_relative_path_stays_relative_to_the_working_directory() -> None:
    assert inventory_of(None) == Path("nodes.yml")
    raw = ExporterConfig(collectors={"files": {"inventory": "x/y.yml"}})
    (enabled,) = validate_config(raw, FACTORIES).collectors
    assert isinstance(enabled.config, FileConfig)
    assert enabled.config.inventory == Path("x/y.yml")

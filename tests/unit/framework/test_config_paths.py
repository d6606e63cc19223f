"""Relative paths in the config are relative to the config file, as in Prometheus."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from exporter.collector import CollectorConfig, CollectorFactory
from exporter.config import ExporterConfig, load_config, validate_config
from exporter.config_errors import ConfigError
from exporter.paths import ConfigPath
from exporter.registry import discover
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


def test_every_built_in_file_key_starts_at_the_config_files_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir("/")
    conf = tmp_path / "etc"
    conf.mkdir()
    (conf / "config.yml").write_text(
        "collectors:\n"
        "  skyserve: {endpoint: 'http://sky:46580', token_file: secrets/token}\n"
        "  kubernetes: {kubeconfig: kube/config}\n"
        "  baremetal: {inventory: nodes.yml, ssh_node_pools: ~/.sky/ssh_node_pools.yaml}\n"
        "  probes:\n"
        "    modules:\n"
        "      m: {tls_config: {ca_file: pki/ca.pem, cert_file: pki/client.pem, key_file: pki/client.key}}\n"
        "pricing: {catalog_dir: catalogs, skypilot_config: ../sky/config.yaml}\n"
    )
    factories = discover()
    loaded = load_config(conf / "config.yml", factories, {})
    base = conf.resolve()

    def section(name: str) -> dict[str, Any]:
        config = loaded.config_of(name)
        assert config is not None
        return config.model_dump()

    assert section("skyserve")["token_file"] == base / "secrets" / "token"
    assert section("kubernetes")["kubeconfig"] == base / "kube" / "config"
    baremetal = section("baremetal")
    assert (baremetal["inventory"], baremetal["ssh_node_pools"]) == (
        base / "nodes.yml",
        tmp_path / "home" / ".sky" / "ssh_node_pools.yaml",
    )
    tls = section("probes")["modules"]["m"]["tls_config"]
    assert (tls["ca_file"], tls["cert_file"], tls["key_file"]) == (
        base / "pki" / "ca.pem",
        base / "pki" / "client.pem",
        base / "pki" / "client.key",
    )
    pricing = section("pricing")
    assert (pricing["catalog_dir"], pricing["skypilot_config"]) == (
        base / "catalogs",
        base / ".." / "sky" / "config.yaml",
    )


def test_the_default_catalog_dir_has_its_home_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_config(None, discover(), {}).config_of("pricing")
    assert config is not None
    assert config.model_dump()["catalog_dir"] == tmp_path / ".sky" / "catalogs" / "v8"


def test_a_home_that_cannot_be_found_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_home(self: Path) -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "expanduser", no_home)
    config = tmp_path / "config.yml"
    config.write_text("collectors:\n  files: {inventory: ~/nodes.yml}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(config, FACTORIES, {})
    assert raised.value.problems == [
        "collectors.files.inventory: cannot expand '~': there is no home directory (set $HOME)"
    ]

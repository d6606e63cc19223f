"""What ``--config.check`` prints for a config with mistakes: one ``key.path: reason`` line each,
the path said once, whether the mistake is found by validation or when the collector is built."""

from pathlib import Path

import pytest

from tests.unit.framework.config_check import EXIT_CONFIG, config_check


def test_build_problems_in_every_collector(
    tmp_path: Path, offline_machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "inventory.yml").write_text(
        "nodes:\n"
        "  - {name: gpu-box-1, address: 10.0.0.5, provider: ovh, region: gra}\n"
        "  - {name: gpu-box-2, address: 10.0.0.6, provider: ovh, region: gra,\n"
        "     replicas: [{service_name: llama, port: 99999}]}\n"
    )
    (tmp_path / "sky.yaml").write_text("kubernetes:\n  pricing: {cpu: -1}\n")
    config = tmp_path / "config.yml"
    config.write_text(
        "collectors:\n"
        "  skyserve: {endpoint: 'http://admin:s3cret@sky:46580', token_file: secrets/token}\n"
        "  kubernetes: {kubeconfig: kube/config}\n"
        "  baremetal: {inventory: inventory.yml}\n"
        "  probes: {modules: {mtls: {tls_config: {ca_file: pki/ca.pem}}}}\n"
        "pricing: {skypilot_config: sky.yaml}\n"
    )
    result = config_check(capsys, config)
    assert result.code == EXIT_CONFIG
    assert result.problems == [
        f"collectors.skyserve.token_file: {tmp_path}/secrets/token: cannot read: No such file or directory",
        f"collectors.kubernetes.kubeconfig: {tmp_path}/kube/config: cannot read: No such file or directory",
        f"collectors.baremetal.inventory: {tmp_path}/inventory.yml: "
        "nodes.1.replicas.0.port: port must be 1-65535, got 99999 (node gpu-box-2)",
        f"collectors.probes.modules.mtls.tls_config.ca_file: {tmp_path}/pki/ca.pem: "
        "cannot read: No such file or directory",
        f"pricing.skypilot_config: {tmp_path}/sky.yaml: "
        "kubernetes.pricing.cpu: Input should be greater than or equal to 0",
    ]


def test_validation_problems_in_every_collector(
    tmp_path: Path, offline_machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yml"
    config.write_text(
        "collectors:\n"
        "  skyserve: {endpoint: 'http://admin:s3cret@sky:99999'}\n"
        "  kubernetes: {contexts: [prod, prod]}\n"
        "  baremetal: {inventory: nodes.yml, interval: 10s, timeout: 10s}\n"
        "  probes:\n"
        "    targets: [{name: api, url: 'https://user:s3cret@api.example.com/health', module: nope}]\n"
        "pricing: {refresh_url: 'https://mirror:0/v8'}\n"
    )
    result = config_check(capsys, config)
    assert result.code == EXIT_CONFIG
    assert result.problems == [
        "collectors.skyserve.endpoint: port must be 1-65535",
        "collectors.kubernetes.contexts: listed more than once: prod",
        "collectors.baremetal.timeout: 10s must be shorter than interval (10s)",
        "collectors.probes.targets.0.module: unknown module 'nope'",
        "pricing.refresh_url: port must be 1-65535, got 0",
    ]
    assert "s3cret" not in "\n".join(result.problems)


def test_a_section_without_a_usable_endpoint(
    tmp_path: Path, offline_machine: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yml"
    config.write_text("collectors:\n  skyserve: {}\n")
    assert config_check(capsys, config).problems == [
        "collectors.skyserve.endpoint: no SkyPilot API server endpoint; "
        "set it in the config or in $SKYPILOT_API_SERVER_ENDPOINT",
    ]
    monkeypatch.setenv("SKYPILOT_API_SERVER_ENDPOINT", "http://admin:s3cret@sky:70000")
    assert config_check(capsys, config).problems == [
        "collectors.skyserve.endpoint: port must be 1-65535 (from $SKYPILOT_API_SERVER_ENDPOINT)",
    ]

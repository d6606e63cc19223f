"""Every exporter config the repository ships passes the real ``--config.check`` as shipped, on a
machine with nothing of SkyPilot or Kubernetes on it (``offline_machine``), or, where it can only
work in its deployment, fails with exactly the problems that deployment resolves and no other.

The shipped configs: docs/config.example.yml (with the placeholder files under
docs/examples/config/ it names), the image's default config (written by the Dockerfile), and the
Kubernetes ConfigMap. The Compose file passes no config file (its live exporter takes the image's
flags and the environment; the others run --demo). The README's snippets name production files
(/run/secrets/..., ~/.sky/config.yaml), so they are validated only, not built. docs/plugins.md's
example needs its plugin installed: tests/integration/test_third_party_plugin.py checks it.
"""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from collectors.kubernetes.client import Target, new_api_client
from collectors.pricing import PricingConfig
from exporter.config import read_config, validate_config
from exporter.registry import discover
from tests.unit.framework.config_check import EXIT_CONFIG, config_check

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
EXAMPLE = DOCS / "config.example.yml"
EXAMPLE_FILES = DOCS / "examples" / "config"
CONFIGMAP = ROOT / "monitoring" / "kubernetes" / "configmap.yaml"
ENDPOINT_MISSING = (
    "collectors.skyserve.endpoint: no SkyPilot API server endpoint; "
    "set it in the config or in $SKYPILOT_API_SERVER_ENDPOINT"
)


def test_the_example_config_passes_the_check_as_shipped(
    offline_machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = config_check(capsys, EXAMPLE)
    assert (result.code, result.problems) == (0, [])
    assert result.stdout == "config OK: collectors skyserve, kubernetes, baremetal, probes, pricing\n"


def test_the_example_config_works_from_any_directory(
    offline_machine: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its paths are relative to the file, not to where the exporter is started.
    monkeypatch.chdir(ROOT / "monitoring")
    assert config_check(capsys, Path("../docs/config.example.yml")).code == 0


def test_the_example_config_names_every_example_file_and_only_those() -> None:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    sections = document["collectors"]
    named = {
        sections["skyserve"]["token_file"],
        sections["kubernetes"]["kubeconfig"],
        sections["baremetal"]["inventory"],
        sections["baremetal"]["ssh_node_pools"],
    }
    shipped = {f"examples/config/{p.name}" for p in EXAMPLE_FILES.iterdir() if p.name != "README.md"}
    assert named == shipped
    readme = (EXAMPLE_FILES / "README.md").read_text(encoding="utf-8")
    assert all(f"`{Path(name).name}`" in readme for name in named)


def test_the_example_config_is_what_the_docs_say(offline_machine: Path) -> None:
    factories = discover()
    loaded = validate_config(read_config(EXAMPLE, factories, {}), factories)
    pricing = loaded.config_of("pricing")
    assert isinstance(pricing, PricingConfig)
    assert pricing.catalog_dir == offline_machine / ".sky" / "catalogs" / "v8"  # ~ expanded
    assert pricing.kubernetes is not None
    assert pricing.kubernetes.accelerators == {"L4": 0.70}
    assert pricing.overrides[0].hourly == 55.04


def test_the_example_kubeconfig_is_one_the_kubernetes_client_loads() -> None:
    # Loading it runs no network: the server is only contacted at the first collection.
    client = new_api_client(Target("example", EXAMPLE_FILES / "kubeconfig.yml"), {})
    assert client.configuration.host == "https://kubernetes.example.invalid:6443"
    assert client.configuration.api_key == {"BearerToken": "Bearer EXAMPLE-not-a-real-token"}


def test_the_example_files_hold_nothing_real() -> None:
    assert (EXAMPLE_FILES / "skypilot-token").read_text(encoding="utf-8").startswith("sky_EXAMPLE-not-a-real")
    inventory = yaml.safe_load((EXAMPLE_FILES / "inventory.yml").read_text(encoding="utf-8"))
    pools = yaml.safe_load((EXAMPLE_FILES / "ssh_node_pools.yaml").read_text(encoding="utf-8"))
    addresses = [node["address"] for node in inventory["nodes"]] + pools["lab"]["hosts"]
    assert all(address.startswith("192.0.2.") for address in addresses)  # TEST-NET-1: no host answers


def image_default_config() -> str:
    """The config the Dockerfile writes to /etc/skyserve-exporter/config.yml."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    match = re.search(r"printf '%s\\n' \\\n(.*?)> /etc/skyserve-exporter/config\.yml", text, re.DOTALL)
    assert match, "the Dockerfile no longer writes its default config with printf"
    lines = re.findall(r"^\s*'(.*)' \\$", match.group(1), re.MULTILINE)
    return "\n".join(lines) + "\n"


def test_the_image_default_config_needs_only_the_endpoint_its_container_is_given(
    tmp_path: Path,
    offline_machine: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # By design it takes the endpoint from the environment (docker run -e ...), and says so
    # otherwise, in the words docs/container.md quotes.
    config = tmp_path / "config.yml"
    config.write_text(image_default_config(), encoding="utf-8")
    result = config_check(capsys, config)
    assert (result.code, result.problems) == (EXIT_CONFIG, [ENDPOINT_MISSING])
    container_doc = " ".join((DOCS / "container.md").read_text(encoding="utf-8").split())
    assert f"`{ENDPOINT_MISSING}`" in container_doc
    monkeypatch.setenv("SKYPILOT_API_SERVER_ENDPOINT", "http://skypilot-api:46580")
    result = config_check(capsys, config)
    assert (result.code, result.stdout) == (0, "config OK: collectors skyserve, probes, pricing\n")


def configmap_config() -> str:
    document: dict[str, Any] = yaml.safe_load(CONFIGMAP.read_text(encoding="utf-8"))
    text: str = document["data"]["config.yml"]
    return text


def test_the_configmap_config_fails_off_cluster_only_for_what_the_pod_provides(
    tmp_path: Path, offline_machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It can only work in its pod: the token is the Secret mounted at /var/run/secrets/skypilot
    # (tests/unit/deploy checks the mount) and the cluster is the pod's service account. Off the
    # cluster, exactly those two fail; every other key validates and builds.
    config = tmp_path / "config.yml"
    config.write_text(configmap_config(), encoding="utf-8")
    result = config_check(capsys, config)
    assert result.code == EXIT_CONFIG
    assert result.problems == [
        "collectors.skyserve.token_file: /var/run/secrets/skypilot/token: "
        "cannot read: No such file or directory",
        "collectors.kubernetes.kubeconfig: not set, and not running in a cluster "
        "($KUBERNETES_SERVICE_HOST is unset) to use its service account",
    ]


def test_the_configmap_config_passes_where_its_pod_would(
    tmp_path: Path, offline_machine: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pod's view, reproduced: the Secret's file at the configured path (rewritten to a
    # temporary directory) and the variables the kubelet sets.
    document = yaml.safe_load(configmap_config())
    token_file = Path(document["collectors"]["skyserve"]["token_file"])
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / token_file.name).write_text("sky_EXAMPLE\n", encoding="utf-8")
    document["collectors"]["skyserve"]["token_file"] = str(secret / token_file.name)
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    result = config_check(capsys, config)
    assert (result.code, result.problems) == (0, [])
    assert result.stdout == "config OK: collectors skyserve, kubernetes, probes, pricing\n"


def readme_config_snippets() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)


@pytest.mark.parametrize("snippet", readme_config_snippets())
def test_the_readme_config_snippets_validate(snippet: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(snippet, encoding="utf-8")
    factories = discover()
    loaded = validate_config(read_config(config, factories, {}), factories)
    assert loaded.collectors


def test_the_readme_shows_config_snippets() -> None:
    assert len(readme_config_snippets()) == 2


def test_no_other_shipped_file_holds_an_exporter_config() -> None:
    # A new example must be added above; the plugin's lives in docs/plugins.md.
    known = {
        EXAMPLE,
        CONFIGMAP,
        ROOT / "Dockerfile",
        ROOT / "README.md",
        DOCS / "container.md",
        DOCS / "plugins.md",
    }
    found = set()
    for folder in (DOCS, ROOT / "monitoring"):
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in {".yml", ".yaml", ".md"}:
                text = path.read_text(encoding="utf-8", errors="replace")
                if re.search(r"^\s*collectors:\s*$", text, re.MULTILINE):
                    found.add(path)
    assert found <= known, sorted(str(p) for p in found - known)

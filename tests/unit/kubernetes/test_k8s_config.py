"""The ``collectors.kubernetes`` section: strict keys, kubeconfig contexts, in-cluster fallback."""

from pathlib import Path

import pydantic
import pytest
import yaml
from kubernetes.client import Configuration

from collectors.kubernetes.client import Target, new_api_client, resolve_targets
from collectors.kubernetes.collector import KubernetesCollector
from collectors.kubernetes.config import KubernetesConfig
from exporter.config import load_config
from exporter.config_errors import SectionError
from exporter.errors import UpstreamAuthError
from exporter.registry import discover
from tests.unit.kubernetes.fixtures import write_kubeconfig

SERVERS = {"gke-prod": "http://127.0.0.1:1", "eks-serving": "http://127.0.0.1:2"}


def test_defaults() -> None:
    config = KubernetesConfig()
    assert (config.kubeconfig, config.contexts, config.namespaces, config.selector) == (None, (), (), "")
    assert config.service_label == "app.kubernetes.io/name"
    assert (config.interval, config.timeout, config.page_size, config.include_skypilot) == (
        30.0,
        20.0,
        500,
        False,
    )
    assert config.effective_selector == "!skypilot-cluster-name"


def test_a_full_section_validates(tmp_path: Path) -> None:
    config = KubernetesConfig.model_validate(
        {
            "kubeconfig": str(tmp_path / "config"),
            "contexts": [],
            "namespaces": [],
            "selector": "app.kubernetes.io/component=inference",
            "service_label": "app.kubernetes.io/name",
            "interval": "30s",
            "timeout": "10s",
            "stale_after": "2m",
        }
    )
    assert config.effective_selector == "app.kubernetes.io/component=inference,!skypilot-cluster-name"
    assert (config.timeout, config.stale_after_seconds) == (10.0, 120.0)
    included = KubernetesConfig(selector="a=b", include_skypilot=True)
    assert included.effective_selector == "a=b"


@pytest.mark.parametrize(
    "section",
    [
        {"kubeconfg": "x"},
        {"contexts": ["a", "a"]},
        {"page_size": 0},
        {"service_label": ""},
        {"namespaces": [""]},
    ],
)
def test_mistakes_are_rejected(section: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        KubernetesConfig.model_validate(section)


def test_the_current_context_by_default(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", SERVERS, current="eks-serving")
    assert resolve_targets(KubernetesConfig(kubeconfig=path), {}) == (Target("eks-serving", path),)


def test_named_contexts_in_order(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", SERVERS, current="")
    targets = resolve_targets(KubernetesConfig(kubeconfig=path, contexts=("gke-prod", "eks-serving")), {})
    assert [t.context for t in targets] == ["gke-prod", "eks-serving"]


def problems_of(config: KubernetesConfig, environ: dict[str, str] | None = None) -> list[tuple[str, str]]:
    with pytest.raises(SectionError) as raised:
        resolve_targets(config, environ or {})
    return list(raised.value.problems)


def test_unknown_contexts_are_named_by_their_index(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", SERVERS, current="gke-prod")
    config = KubernetesConfig(kubeconfig=path, contexts=("aks", "gke-prod", "kind"))
    assert problems_of(config) == [
        ("contexts.0", f"'aks' is not a context of {path} (it has: gke-prod, eks-serving)"),
        ("contexts.2", f"'kind' is not a context of {path} (it has: gke-prod, eks-serving)"),
    ]


def test_no_contexts_and_no_current_context_fails_at_start(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", SERVERS, current="")
    assert problems_of(KubernetesConfig(kubeconfig=path)) == [
        ("contexts", f"empty, and {path} has no current-context: name the contexts to read")
    ]


def test_unreadable_kubeconfigs_fail_at_start(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    assert problems_of(KubernetesConfig(kubeconfig=missing)) == [
        ("kubeconfig", f"{missing}: cannot read: No such file or directory")
    ]
    bad = tmp_path / "bad"
    bad.write_text("users:\n- name: x\n  user: {token: s3cret\n")
    ((key, reason),) = problems_of(KubernetesConfig(kubeconfig=bad))
    assert (key, reason.split(" at line ")[0]) == ("kubeconfig", f"{bad}: not valid YAML")
    assert "s3cret" not in reason
    bad.write_text("apiVersion: v1\n")
    assert problems_of(KubernetesConfig(kubeconfig=bad)) == [
        ("kubeconfig", f"{bad}: contexts: missing, or not a list")
    ]


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_a_server_port_out_of_range_fails_at_start_naming_where_it_is(tmp_path: Path, port: str) -> None:
    servers = {**SERVERS, "bad": f"https://admin:s3cret@10.0.0.1:{port}"}
    path = write_kubeconfig(tmp_path / "kubeconfig", servers, current="gke-prod")
    problems = problems_of(KubernetesConfig(kubeconfig=path, contexts=("gke-prod", "bad")))
    assert problems == [("kubeconfig", f"{path}: clusters.2.cluster.server: port must be 1-65535")]
    # Only the contexts read are checked: another context's cluster is not our business.
    assert resolve_targets(KubernetesConfig(kubeconfig=path), {}) == (Target("gke-prod", path),)


def test_a_relative_kubeconfig_starts_at_the_config_files_directory(tmp_path: Path) -> None:
    (tmp_path / "kube").mkdir()
    path = write_kubeconfig(tmp_path / "kube" / "config", SERVERS)
    (tmp_path / "config.yml").write_text("collectors:\n  kubernetes: {kubeconfig: kube/config}\n")
    loaded = load_config(tmp_path / "config.yml", discover(), {})
    settings = loaded.config_of("kubernetes")
    assert isinstance(settings, KubernetesConfig)
    assert settings.kubeconfig == path.resolve()


def test_without_kubeconfig_the_service_account_is_used() -> None:
    environ = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    assert resolve_targets(KubernetesConfig(), environ) == (Target("in-cluster"),)
    named = {**environ, "SKYPILOT_IN_CLUSTER_CONTEXT_NAME": "prod-cluster"}
    assert resolve_targets(KubernetesConfig(), named) == (Target("prod-cluster"),)
    assert problems_of(KubernetesConfig()) == [
        (
            "kubeconfig",
            "not set, and not running in a cluster ($KUBERNETES_SERVICE_HOST is unset) "
            "to use its service account",
        )
    ]
    assert problems_of(KubernetesConfig(contexts=("a",)), environ) == [
        ("contexts", "needs a kubeconfig (without one the service account is used)")
    ]


def test_off_unless_configured() -> None:
    assert KubernetesCollector.default_config({"KUBERNETES_SERVICE_HOST": "10.96.0.1"}) is None


def test_credentials_that_cannot_be_loaded_are_an_auth_failure_at_collection(tmp_path: Path) -> None:
    environ = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    with pytest.raises(UpstreamAuthError, match="context in-cluster: cannot load credentials"):
        new_api_client(Target("in-cluster"), environ)  # no service-account token file here
    path = write_kubeconfig(tmp_path / "kubeconfig", {"eks": "https://127.0.0.1:1"})
    document = yaml.safe_load(path.read_text())
    missing = str(tmp_path / "missing.pem")
    document["users"][0]["user"] = {"client-certificate": missing, "client-key": missing}
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(UpstreamAuthError, match="context eks: cannot load credentials"):
        new_api_client(Target("eks", path), {})


def test_clients_have_retries_off_and_their_own_configuration(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", SERVERS)
    first = new_api_client(Target("gke-prod", path), {})
    second = new_api_client(Target("eks-serving", path), {})
    assert first.configuration is not second.configuration
    assert (first.configuration.host, second.configuration.host) == (
        "http://127.0.0.1:1",
        "http://127.0.0.1:2",
    )
    assert first.configuration.retries is False
    assert Configuration.get_default_copy().host != "http://127.0.0.1:1"  # the global default is untouched

"""The ``collectors.kubernetes`` section: strict keys, kubeconfig contexts, in-cluster fallback."""

from pathlib import Path

import pydantic
import pytest
import yaml
from kubernetes.client import Configuration

from collectors.kubernetes.client import Target, new_api_client, resolve_targets
from collectors.kubernetes.collector import KubernetesCollector
from collectors.kubernetes.config import KubernetesConfig
from exporter.errors import UpstreamAuthError
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


@pytest.mark.parametrize(
    ("contexts", "current", "message"),
    [
        (("gke-prod", "aks"), "gke-prod", "contexts: not in .*: aks \\(it has: gke-prod, eks-serving\\)"),
        ((), "", "no current-context"),
    ],
)
def test_unusable_contexts_fail_at_start(
    tmp_path: Path, contexts: tuple[str, ...], current: str, message: str
) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", SERVERS, current=current)
    with pytest.raises(ValueError, match=message):
        resolve_targets(KubernetesConfig(kubeconfig=path, contexts=contexts), {})


def test_unreadable_kubeconfigs_fail_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kubeconfig: cannot read"):
        resolve_targets(KubernetesConfig(kubeconfig=tmp_path / "missing"), {})
    bad = tmp_path / "bad"
    bad.write_text("clusters: [\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        resolve_targets(KubernetesConfig(kubeconfig=bad), {})
    bad.write_text("apiVersion: v1\n")
    with pytest.raises(ValueError, match="no list of contexts"):
        resolve_targets(KubernetesConfig(kubeconfig=bad), {})


def test_without_kubeconfig_the_service_account_is_used() -> None:
    environ = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    assert resolve_targets(KubernetesConfig(), environ) == (Target("in-cluster"),)
    named = {**environ, "SKYPILOT_IN_CLUSTER_CONTEXT_NAME": "prod-cluster"}
    assert resolve_targets(KubernetesConfig(), named) == (Target("prod-cluster"),)
    with pytest.raises(ValueError, match="not running in a cluster"):
        resolve_targets(KubernetesConfig(), {})
    with pytest.raises(ValueError, match="contexts: needs a kubeconfig"):
        resolve_targets(KubernetesConfig(contexts=("a",)), environ)


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

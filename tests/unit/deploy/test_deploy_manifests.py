"""monitoring/kubernetes/: schema-valid, wired together, and configured the way the docs promise.

Core kinds are checked by `kubernetes-validate --strict` (the Kubernetes OpenAPI schemas, unknown
fields rejected); ServiceMonitor and PrometheusRule by the Prometheus Operator's CRD schemas kept in
tests/data/crds/, made strict the same way.
"""

import copy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from exporter.config import read_config, validate_config
from exporter.registry import discover

ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = ROOT / "monitoring" / "kubernetes"
CRDS = ROOT / "tests" / "data" / "crds"
KUBERNETES_VALIDATE = Path(sys.executable).with_name("kubernetes-validate")
CORE_FILES = ["rbac.yaml", "configmap.yaml", "deployment.yaml", "service.yaml"]
CRD_FILES = {
    "ServiceMonitor": "monitoring.coreos.com_servicemonitors.yaml",
    "PrometheusRule": "monitoring.coreos.com_prometheusrules.yaml",
}
# The oldest Kubernetes still commonly run, and the newest the validator knows.
KUBERNETES_VERSIONS = ["1.28", None]


def documents(name: str) -> list[dict[str, Any]]:
    text = (MANIFESTS / name).read_text(encoding="utf-8")
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def all_objects() -> list[dict[str, Any]]:
    return [doc for name in kustomization()["resources"] for doc in documents(name)]


def kustomization() -> dict[str, Any]:
    found = documents("kustomization.yaml")
    assert len(found) == 1
    return found[0]


def one(kind: str) -> dict[str, Any]:
    matches = [obj for obj in all_objects() if obj["kind"] == kind]
    assert len(matches) == 1, f"expected one {kind}, found {len(matches)}"
    return matches[0]


def container() -> dict[str, Any]:
    containers = one("Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def strict(schema: Any) -> Any:
    """The schema with unknown fields rejected wherever the CRD lists the known ones.

    The API server prunes fields a structural schema does not list; failing on them here is what
    turns a misspelt key into a test failure instead of a silently ignored setting.
    """
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def crd_validator(kind: str) -> jsonschema.protocols.Validator:
    crd = yaml.safe_load((CRDS / CRD_FILES[kind]).read_text(encoding="utf-8"))
    assert crd["spec"]["names"]["kind"] == kind
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema = strict(version["schema"]["openAPIV3Schema"])
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    # Against the meta-schema, but without its "regex" format check: CRD patterns are RE2 (Go), and
    # `^(?i)(abort|warn)?$` is valid there and in Python, not in ECMA 262.
    validator_class(validator_class.META_SCHEMA).validate(schema)
    result: jsonschema.protocols.Validator = validator_class(schema)
    return result


def crd_errors(obj: dict[str, Any]) -> list[str]:
    assert obj["apiVersion"] == "monitoring.coreos.com/v1"
    errors = crd_validator(obj["kind"]).iter_errors(obj)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def run_kubernetes_validate(paths: list[Path], version: str | None) -> subprocess.CompletedProcess[str]:
    argv = [str(KUBERNETES_VALIDATE), "--strict"]
    if version is not None:
        argv += ["--kubernetes-version", version]
    return subprocess.run([*argv, *map(str, paths)], check=False, capture_output=True, text=True, timeout=120)


# -- schemas -------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS, ids=lambda v: v or "latest")
def test_core_kinds_pass_kubernetes_validate_strict(version: str | None) -> None:
    result = run_kubernetes_validate([MANIFESTS / name for name in CORE_FILES], version)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARN" not in result.stdout + result.stderr  # e.g. "Couldn't find schema": nothing checked
    for kind in ["serviceaccount", "clusterrole", "clusterrolebinding", "configmap", "deployment", "service"]:
        assert f"resource {kind}/" in result.stdout + result.stderr


def test_kubernetes_validate_rejects_an_unknown_field(tmp_path: Path) -> None:
    # The control for the test above: strict mode really fails on a misspelt key.
    broken = copy.deepcopy(one("Deployment"))
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = broken["spec"]["template"]["spec"][
        "containers"
    ][0].pop("readinessProbe")
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = run_kubernetes_validate([path], None)
    assert result.returncode != 0
    assert "readinesProbe" in result.stdout + result.stderr


def test_every_manifest_file_is_listed_in_the_kustomization() -> None:
    listed = kustomization()["resources"]
    present = sorted(p.name for p in MANIFESTS.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == present
    assert set(CORE_FILES) | {"servicemonitor.yaml", "prometheusrule.yaml"} == set(listed)


def test_every_object_is_checked_by_one_of_the_schemas() -> None:
    core = {doc["kind"] for name in CORE_FILES for doc in documents(name)}
    kinds = [obj["kind"] for obj in all_objects()]
    assert set(kinds) == core | set(CRD_FILES)
    expected = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Service"}
    assert core == expected


@pytest.mark.parametrize("kind", sorted(CRD_FILES))
def test_operator_objects_match_the_crd_schema(kind: str) -> None:
    assert crd_errors(one(kind)) == []


def test_crd_schema_rejects_a_misspelt_key_and_a_bad_duration() -> None:
    monitor = copy.deepcopy(one("ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["scrape_timeout"] = "10s"
    monitor["spec"]["endpoints"][0]["interval"] = "half a minute"
    errors = crd_errors(monitor)
    assert any("scrape_timeout" in e for e in errors), errors
    assert any(e.startswith("spec/endpoints/0/interval") for e in errors), errors
    rule = copy.deepcopy(one("PrometheusRule"))
    rule["spec"]["groups"][0]["rules"][0]["for"] = "ten minutes"
    assert crd_errors(rule)


# -- wiring --------------------------------------------------------------------------------------


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_service_selects_the_pods_and_names_its_port_metrics() -> None:
    service, deployment = one("Service"), one("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels_match(service["spec"]["selector"], pod_labels)
    assert labels_match(deployment["spec"]["selector"]["matchLabels"], pod_labels)
    (port,) = service["spec"]["ports"]
    assert port["name"] == "metrics"
    assert port["port"] == 9091
    assert port["targetPort"] in ("metrics", 9091)
    assert [p["name"] for p in container()["ports"]] == ["metrics"]
    assert container()["ports"][0]["containerPort"] == 9091


def test_service_monitor_scrapes_the_service_port_named_metrics() -> None:
    monitor, service = one("ServiceMonitor"), one("Service")
    assert labels_match(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics"
    assert endpoint.get("path", "/metrics") == "/metrics"
    # The alerts read job="skyserve-exporter": the Operator takes the job from the Service's name.
    assert service["metadata"]["name"] == "skyserve-exporter"
    assert "jobLabel" not in monitor["spec"]


def test_the_pod_runs_as_the_service_account_of_rbac_yaml() -> None:
    (account,) = [doc for doc in documents("rbac.yaml") if doc["kind"] == "ServiceAccount"]
    pod = one("Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert kustomization()["namespace"] == account["metadata"]["namespace"]


def test_the_image_name_is_the_one_the_kustomization_rewrites() -> None:
    names = [image["name"] for image in kustomization()["images"]]
    assert container()["image"].split(":")[0] in names


# -- the Deployment's policy -----------------------------------------------------------------------


def test_one_replica_replaced_not_rolled() -> None:
    spec = one("Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"]["type"] == "Recreate"


def test_probes_use_the_health_endpoints() -> None:
    c = container()
    assert c["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
    assert c["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    assert c["livenessProbe"]["httpGet"]["port"] == c["readinessProbe"]["httpGet"]["port"] == "metrics"


def test_requests_and_limits_are_set() -> None:
    resources = container()["resources"]
    for kind in ("requests", "limits"):
        assert set(resources[kind]) == {"cpu", "memory"}, kind


def test_locked_down_security_context() -> None:
    pod = one("Deployment")["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] > 0
    assert pod["seccompProfile"]["type"] == "RuntimeDefault"
    ctx = container()["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["runAsNonRoot"] is True
    assert ctx["capabilities"]["drop"] == ["ALL"]
    assert ctx.get("privileged", False) is False


def test_grace_period_outlasts_the_exporters_shutdown() -> None:
    # SIGTERM stops it within a second; SIGKILL would come after the grace period.
    assert one("Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 5


# -- the config it runs with ---------------------------------------------------------------------


def mounts() -> dict[str, dict[str, Any]]:
    pod = one("Deployment")["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    return {
        m["mountPath"]: {**volumes[m["name"]], "readOnly": m.get("readOnly", False)}
        for m in container()["volumeMounts"]
    }


def mounted_config() -> tuple[str, str]:
    """(path the exporter reads, file content) as the pod sees them."""
    args = container()["args"]
    (config_arg,) = [a for a in args if a.startswith("--config=")]
    path = config_arg.removeprefix("--config=")
    directory, _, filename = path.rpartition("/")
    volume = mounts()[directory]
    configmap = one("ConfigMap")
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    return path, configmap["data"][filename]


def test_configmap_config_is_valid_for_the_exporter(tmp_path: Path) -> None:
    _, text = mounted_config()
    path = tmp_path / "config.yml"
    path.write_text(text, encoding="utf-8")
    factories = discover()
    loaded = validate_config(read_config(path, factories, {}), factories)
    assert [c.factory.name for c in loaded.collectors] == ["skyserve", "kubernetes", "probes", "pricing"]


def config_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(mounted_config()[1])
    return document


def test_the_token_file_is_in_the_mounted_secret() -> None:
    token_file = config_document()["collectors"]["skyserve"]["token_file"]
    directory, _, filename = token_file.rpartition("/")
    volume = mounts()[directory]
    assert volume["readOnly"] is True
    assert volume["secret"]["secretName"] == "skyserve-exporter-skypilot"
    assert [item["path"] for item in volume["secret"]["items"]] == [filename]


def test_the_skyserve_endpoint_is_a_cluster_dns_name() -> None:
    endpoint = config_document()["collectors"]["skyserve"]["endpoint"]
    assert endpoint.startswith("http://") and ".svc.cluster.local" in endpoint


def writable_paths() -> Iterator[str]:
    for path, volume in mounts().items():
        if "emptyDir" in volume and not volume["readOnly"]:
            yield path


def test_what_the_exporter_writes_lands_on_writable_volumes() -> None:
    # The root filesystem is read-only: temp files (waitress spills large responses) and the
    # refreshed price catalogs need volumes of their own.
    writable = list(writable_paths())
    assert "/tmp" in writable
    catalog_dir = config_document()["pricing"]["catalog_dir"]
    assert any(catalog_dir == path or catalog_dir.startswith(path + "/") for path in writable)

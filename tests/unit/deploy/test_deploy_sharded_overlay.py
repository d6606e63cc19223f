"""monitoring/kubernetes-sharded/: the base as a StatefulSet of shards, rendered and checked like the base.

The overlay is rendered here in Python (the base's objects, the overlay's own, the Deployment
deleted and the Service patched); where kubectl is installed, `kubectl kustomize` must render the
same objects. Core kinds go through `kubernetes-validate --strict` as in test_deploy_manifests.py,
and the wiring is checked against what automatic sharding reads: the pod's name and namespace from
the downward API, its StatefulSet through the Role, the ordinal from the pod's name.
"""

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.autoshard import pod_ordinal
from exporter.cli import parse_args
from tests.unit.deploy.test_deploy_manifests import (
    KUBERNETES_VERSIONS,
    MANIFESTS,
    all_objects,
    crd_errors,
    run_kubernetes_validate,
)
from tests.unit.deploy.test_deploy_secure_overlay import json6902, targets

ROOT = Path(__file__).resolve().parents[3]
SHARDED = ROOT / "monitoring" / "kubernetes-sharded"
OWN_FILES = ["statefulset.yaml", "rbac-shards.yaml"]


def overlay() -> dict[str, Any]:
    (found,) = [d for d in yaml.safe_load_all((SHARDED / "kustomization.yaml").read_text()) if d]
    result: dict[str, Any] = found
    return result


def own_objects() -> list[dict[str, Any]]:
    return [doc for name in OWN_FILES for doc in yaml.safe_load_all((SHARDED / name).read_text()) if doc]


def same_object(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (a["apiVersion"], a["kind"], a["metadata"]["name"]) == (
        b["apiVersion"],
        b["kind"],
        b["metadata"]["name"],
    )


def render() -> list[dict[str, Any]]:
    objects = copy.deepcopy(all_objects()) + own_objects()
    for patch in overlay()["patches"]:
        document = yaml.safe_load((SHARDED / patch["path"]).read_text())
        if isinstance(document, dict) and document.get("$patch") == "delete":
            gone = [obj for obj in objects if same_object(obj, document)]
            assert len(gone) == 1, patch["path"]
            objects.remove(gone[0])
            continue
        matched = [i for i, obj in enumerate(objects) if targets(obj, patch["target"])]
        assert len(matched) == 1, f"{patch['path']} targets {len(matched)} objects"
        objects[matched[0]] = json6902(objects[matched[0]], document)
    return objects


def one(kind: str) -> dict[str, Any]:
    (found,) = [obj for obj in render() if obj["kind"] == kind]
    return found


def pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = one("StatefulSet")["spec"]["template"]["spec"]
    return spec


def container() -> dict[str, Any]:
    (found,) = pod_spec()["containers"]
    result: dict[str, Any] = found
    return result


def base_deployment() -> dict[str, Any]:
    (found,) = [obj for obj in all_objects() if obj["kind"] == "Deployment"]
    return found


# -- rendering -------------------------------------------------------------------------------------


def test_the_overlay_is_the_base_plus_its_files_and_patches() -> None:
    spec = overlay()
    assert set(spec) == {"apiVersion", "kind", "namespace", "resources", "patches", "images"}
    base, *own = spec["resources"]
    assert (SHARDED / base).resolve() == MANIFESTS.resolve()
    assert own == OWN_FILES
    present = {p.name for p in SHARDED.iterdir()} - {"kustomization.yaml"}
    assert present == set(OWN_FILES) | {patch["path"] for patch in spec["patches"]}
    # The base's namespace and image, for the objects the overlay adds.
    base_spec = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    assert spec["namespace"] == base_spec["namespace"]
    assert spec["images"] == base_spec["images"]


def test_the_deployment_gives_way_to_a_statefulset() -> None:
    kinds = [obj["kind"] for obj in render()]
    assert "Deployment" not in kinds
    assert kinds.count("StatefulSet") == 1


def test_a_patch_that_no_longer_matches_the_base_fails_the_render() -> None:
    operations = yaml.safe_load((SHARDED / "service-patch.yaml").read_text())
    assert operations[0]["op"] == "test"
    service = copy.deepcopy(next(obj for obj in all_objects() if obj["kind"] == "Service"))
    service["spec"]["ports"][0]["name"] = "http"
    with pytest.raises(AssertionError):
        json6902(service, operations)


def without_namespaces(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_namespaces(v) for k, v in value.items() if k != "namespace"}
    if isinstance(value, list):
        return [without_namespaces(v) for v in value]
    return value


def test_kubectl_kustomize_renders_the_same() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the Python rendering alone is checked")
    result = subprocess.run(
        [kubectl, "kustomize", str(SHARDED)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert {
        obj["metadata"].get("namespace")
        for obj in rendered
        if obj["kind"] not in ("ClusterRole", "ClusterRoleBinding")
    } == {"monitoring"}

    def key(obj: dict[str, Any]) -> tuple[str, str]:
        return (obj["kind"], obj["metadata"]["name"])

    ours = {key(obj): without_namespaces(obj) for obj in render()}
    theirs = {key(obj): without_namespaces(obj) for obj in rendered}
    assert ours == theirs


# -- schemas ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS, ids=lambda v: v or "latest")
def test_core_kinds_pass_kubernetes_validate_strict(tmp_path: Path, version: str | None) -> None:
    core = [obj for obj in render() if obj["apiVersion"] != "monitoring.coreos.com/v1"]
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(core), encoding="utf-8")
    result = run_kubernetes_validate([path], version)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARN" not in result.stdout + result.stderr
    for kind in ["statefulset", "role", "rolebinding", "service", "serviceaccount", "configmap"]:
        assert f"resource {kind}/" in result.stdout + result.stderr


@pytest.mark.parametrize("kind", ["ServiceMonitor", "PrometheusRule"])
def test_operator_objects_match_the_crd_schema(kind: str) -> None:
    assert crd_errors(one(kind)) == []


# -- wiring ----------------------------------------------------------------------------------------


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_the_headless_service_governs_and_selects_the_shards() -> None:
    statefulset, service, monitor = one("StatefulSet"), one("Service"), one("ServiceMonitor")
    assert statefulset["spec"]["serviceName"] == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None"
    pod_labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert labels_match(service["spec"]["selector"], pod_labels)
    assert labels_match(statefulset["spec"]["selector"]["matchLabels"], pod_labels)
    # The ServiceMonitor scrapes every pod behind the Service, under the job the alerts read.
    assert labels_match(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    assert service["metadata"]["name"] == "skyserve-exporter"
    assert [p["name"] for p in container()["ports"]] == ["metrics"]


def test_three_shards_started_together() -> None:
    spec = one("StatefulSet")["spec"]
    assert spec["replicas"] == 3
    assert spec["podManagementPolicy"] == "Parallel"


def test_the_pod_is_the_base_deployments_plus_the_sharding_flags() -> None:
    base_pod = copy.deepcopy(base_deployment()["spec"]["template"])
    pod = copy.deepcopy(one("StatefulSet")["spec"]["template"])
    (base_container,) = base_pod["spec"].pop("containers")
    (ours,) = pod["spec"].pop("containers")
    assert pod == base_pod  # labels, service account, security context, volumes
    assert ours["args"] == [*base_container["args"], "--pod=$(POD_NAME)", "--pod-namespace=$(POD_NAMESPACE)"]
    assert ours["env"][: len(base_container["env"])] == base_container["env"]
    for key in ("args", "env"):
        ours.pop(key)
        base_container.pop(key)
    assert ours == base_container  # image, probes, resources, mounts


def test_the_flags_read_the_pods_own_name_and_namespace() -> None:
    env = {item["name"]: item for item in container()["env"]}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    # What the exporter gets once the kubelet has expanded $(VAR): accepted, and no fixed shard.
    statefulset = one("StatefulSet")["metadata"]["name"]
    values = {"POD_NAME": f"{statefulset}-2", "POD_NAMESPACE": "monitoring"}
    args = [
        arg.replace("$(POD_NAME)", values["POD_NAME"]).replace("$(POD_NAMESPACE)", values["POD_NAMESPACE"])
        for arg in container()["args"]
    ]
    parsed = parse_args(args)
    assert (parsed.pod, parsed.pod_namespace, parsed.shard, parsed.total_shards) == (
        f"{statefulset}-2",
        "monitoring",
        None,
        None,
    )
    # Pods of the StatefulSet are <name>-<ordinal>: the ordinal is the shard.
    assert pod_ordinal(values["POD_NAME"], statefulset) == 2


def test_the_role_lets_the_pod_read_itself_and_its_statefulset_and_nothing_more() -> None:
    role, binding = one("Role"), one("RoleBinding")
    rules = {(rule["apiGroups"][0], rule["resources"][0]): rule for rule in role["rules"]}
    assert set(rules) == {("", "pods"), ("apps", "statefulsets")}
    assert all(rule["verbs"] == ["get"] for rule in rules.values())
    assert rules[("apps", "statefulsets")]["resourceNames"] == [one("StatefulSet")["metadata"]["name"]]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    (subject,) = binding["subjects"]
    assert subject["kind"] == "ServiceAccount"
    assert subject["name"] == pod_spec()["serviceAccountName"]
    assert subject["namespace"] == overlay()["namespace"]
    assert pod_spec()["automountServiceAccountToken"] is True


def test_the_image_is_the_one_the_kustomization_rewrites() -> None:
    assert container()["image"].split(":")[0] in [image["name"] for image in overlay()["images"]]

"""The shipped RBAC grants exactly what the collector calls: get/list on pods and nodes."""

import inspect
from pathlib import Path
from typing import Any

import yaml

from collectors.kubernetes import client

RBAC = Path(__file__).resolve().parents[3] / "monitoring" / "kubernetes" / "rbac.yaml"


def _documents() -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(RBAC.read_text()) if doc}


def test_cluster_role_allows_get_and_list_of_pods_and_nodes_only() -> None:
    (rule,) = _documents()["ClusterRole"]["rules"]
    assert rule == {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list"]}


def test_the_binding_gives_the_role_to_the_exporters_service_account() -> None:
    docs = _documents()
    account, binding = docs["ServiceAccount"], docs["ClusterRoleBinding"]
    assert account["metadata"]["namespace"] == "monitoring"
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": docs["ClusterRole"]["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": "monitoring"}
    ]


def test_the_client_calls_nothing_the_role_does_not_grant() -> None:
    source = inspect.getsource(client)
    called = {
        name for name in ("list_pod_for_all_namespaces", "list_namespaced_pod", "list_node") if name in source
    }
    assert called == {"list_pod_for_all_namespaces", "list_namespaced_pod", "list_node"}
    for verb in ("create_", "patch_", "delete_", "replace_", "watch", "read_namespaced_secret"):
        assert f"api.{verb}" not in source

"""A kubeconfig for the simulated clusters: one context each, token auth, plain HTTP on loopback."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from simulator.kubernetes_api import CLUSTER_PREFIX

SIMULATOR_USER = "skyserve-exporter-sim"


def kubeconfig(base_url: str, contexts: Sequence[str], token: str | None) -> dict[str, Any]:
    """The kubeconfig document; the current context is the first cluster."""
    user: dict[str, Any] = {"token": token} if token else {}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {"name": context, "cluster": {"server": f"{base_url}{CLUSTER_PREFIX}{context}"}}
            for context in contexts
        ],
        "users": [{"name": SIMULATOR_USER, "user": user}],
        "contexts": [
            {"name": context, "context": {"cluster": context, "user": SIMULATOR_USER}} for context in contexts
        ],
        "current-context": contexts[0] if contexts else "",
    }


def write_kubeconfig(path: Path, base_url: str, contexts: Sequence[str], token: str | None) -> Path:
    path.write_text(yaml.safe_dump(kubeconfig(base_url, contexts, token), sort_keys=False), encoding="utf-8")
    path.chmod(0o600)  # it may hold the token
    return path

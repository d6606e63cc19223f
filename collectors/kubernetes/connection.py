"""Which clusters to read (kubeconfig contexts or the in-cluster service account) and API clients for them.

Every context gets its own ``ApiClient`` built from its own ``Configuration``; the client library's
global default configuration is never read or written. Clients are made on first use, not at
start-up, because loading a context may run an exec credential plugin (``aws eks get-token``,
``gke-gcloud-auth-plugin``) that needs the network.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml
from kubernetes.client import ApiClient, Configuration
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.incluster_config import (
    SERVICE_CERT_FILENAME,
    SERVICE_HOST_ENV_NAME,
    SERVICE_TOKEN_FILENAME,
    InClusterConfigLoader,
)
from kubernetes.config.kube_config import load_kube_config

from collectors.kubernetes.config import CONFIG_KEY, KubernetesConfig
from exporter.errors import UpstreamAuthError

# SkyPilot's name for the in-cluster "context" (sky/adaptors/kubernetes.py), which SkyServe reports as
# the replica's region; using the same name keeps both sources' labels alike.
IN_CLUSTER_CONTEXT_ENV: Final = "SKYPILOT_IN_CLUSTER_CONTEXT_NAME"
DEFAULT_IN_CLUSTER_CONTEXT: Final = "in-cluster"


@dataclass(frozen=True)
class Target:
    """One cluster: a kubeconfig context, or the service account when ``kubeconfig`` is None."""

    context: str
    kubeconfig: Path | None = None


def resolve_targets(config: KubernetesConfig, environ: Mapping[str, str]) -> tuple[Target, ...]:
    """The clusters the section names; ValueError naming the key when they cannot be used."""
    if config.kubeconfig is None:
        return (_in_cluster(config, environ),)
    available, current = _contexts_of(config.kubeconfig)
    if not config.contexts:
        if not current:
            raise ValueError(f"{CONFIG_KEY}.contexts: {config.kubeconfig} has no current-context; name some")
        return (Target(current, config.kubeconfig),)
    unknown = [name for name in config.contexts if name not in available]
    if unknown:
        raise ValueError(
            f"{CONFIG_KEY}.contexts: not in {config.kubeconfig}: {', '.join(unknown)} "
            f"(it has: {', '.join(available) or 'none'})"
        )
    return tuple(Target(name, config.kubeconfig) for name in config.contexts)


def new_api_client(target: Target, environ: Mapping[str, str]) -> ApiClient:
    """A client for one cluster, with retries off so a dead server fails within the timeout.

    UpstreamAuthError when the credentials cannot be loaded (a missing token file, a failing exec
    plugin): for the operator that is a credentials problem, whatever the library calls it.
    """
    configuration = Configuration()
    try:
        if target.kubeconfig is None:
            _loader(environ).load_and_set(configuration)  # type: ignore[no-untyped-call]
        else:
            load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(target.kubeconfig),
                context=target.context,
                client_configuration=configuration,
                persist_config=False,  # never write refreshed tokens back into the operator's file
            )
    except (ConfigException, OSError) as exc:
        raise UpstreamAuthError(f"context {target.context}: cannot load credentials: {exc}") from None
    # urllib3 would otherwise retry a refused connection three times, each within our timeout.
    configuration.retries = False
    return ApiClient(configuration)


def _in_cluster(config: KubernetesConfig, environ: Mapping[str, str]) -> Target:
    if config.contexts:
        raise ValueError(
            f"{CONFIG_KEY}.contexts: needs a kubeconfig (without one the service account is used)"
        )
    if not environ.get(SERVICE_HOST_ENV_NAME):
        raise ValueError(
            f"{CONFIG_KEY}.kubeconfig: not set, and not running in a cluster (${SERVICE_HOST_ENV_NAME} "
            "is unset) to use its service account"
        )
    return Target(environ.get(IN_CLUSTER_CONTEXT_ENV) or DEFAULT_IN_CLUSTER_CONTEXT)


def _contexts_of(kubeconfig: Path) -> tuple[list[str], str]:
    """Context names and the current one, read as plain YAML: the client's loader insists on a
    current-context even when the config names its contexts."""
    try:
        document = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{CONFIG_KEY}.kubeconfig: cannot read {kubeconfig}: {exc}") from None
    except yaml.YAMLError:
        raise ValueError(f"{CONFIG_KEY}.kubeconfig: {kubeconfig} is not valid YAML") from None
    contexts = document.get("contexts") if isinstance(document, dict) else None
    if not isinstance(contexts, list):
        raise ValueError(f"{CONFIG_KEY}.kubeconfig: {kubeconfig} has no list of contexts")
    names = [str(item["name"]) for item in contexts if isinstance(item, dict) and item.get("name")]
    current = document.get("current-context")
    return names, current if isinstance(current, str) else ""


def _loader(environ: Mapping[str, str]) -> InClusterConfigLoader:
    return InClusterConfigLoader(  # type: ignore[no-untyped-call]
        token_filename=SERVICE_TOKEN_FILENAME, cert_filename=SERVICE_CERT_FILENAME, environ=environ
    )

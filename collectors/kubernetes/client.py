"""The Kubernetes API side: connecting to each cluster, listing its pods and nodes, mapping failures.

The only module of the package that imports the ``kubernetes`` client library, which costs about
25 MB: the collector class is loaded for every exporter (config validation, docs) and imports this
module only when a ``collectors.kubernetes`` section turns it on.

Lists are paginated, restarted on 410, within one time budget. Responses are read with
``_preload_content=False`` and parsed with ``json``: the client's own model deserialisation builds a
pydantic object per field and costs seconds at a few thousand pods (see docs/performance.md). Each
page is read in pieces within the collection's deadline and ``body_size_limit`` (the client's own
read has neither bound), then cut down to the fields the collector reads (``slim_pod``,
``slim_node``) as it arrives.
"""

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import yaml
from kubernetes.client import ApiClient, Configuration, CoreV1Api
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.incluster_config import (
    SERVICE_CERT_FILENAME,
    SERVICE_HOST_ENV_NAME,
    SERVICE_TOKEN_FILENAME,
    InClusterConfigLoader,
)
from kubernetes.config.kube_config import load_kube_config
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)

from collectors.kubernetes.config import KubernetesConfig
from exporter.config_errors import SectionError
from exporter.deadline import Deadline
from exporter.errors import (
    CollectorError,
    UpstreamAuthError,
    UpstreamParseError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from exporter.ports import PORT_RANGE, PortError, url_port
from exporter.redact import redact_text
from exporter.upstream import DEFAULT_BODY_SIZE_LIMIT, encodable, loads_json, read_body

# --- what a list of the clusters brings back -------------------------------------------------------


@dataclass(frozen=True)
class ContextListing:
    """One cluster's selected pods, and the nodes they are scheduled on (both slimmed, unvalidated)."""

    context: str
    pods: tuple[Any, ...]
    nodes: tuple[Any, ...]


@dataclass(frozen=True)
class ClusterListings:
    listings: tuple[ContextListing, ...]
    pages: int  # list requests made, restarts included
    restarts: int  # lists started again after a 410


@dataclass(frozen=True)
class ListQuery:
    namespaces: tuple[str, ...]  # empty: all namespaces
    selector: str
    page_size: int


# --- which clusters to read, and API clients for them ----------------------------------------------
# Every context gets its own ``ApiClient`` built from its own ``Configuration``; the client library's
# global default configuration is never read or written. Clients are made on first use, not at
# start-up, because loading a context may run an exec credential plugin (``aws eks get-token``,
# ``gke-gcloud-auth-plugin``) that needs the network.

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
    """The clusters the section names; SectionError naming the key when they cannot be used."""
    if config.kubeconfig is None:
        return (_in_cluster(config, environ),)
    path = config.kubeconfig
    kubeconfig = _read_kubeconfig(path)
    if not config.contexts:
        if not kubeconfig.current:
            raise SectionError(
                "contexts", f"empty, and {path} has no current-context: name the contexts to read"
            )
        names: tuple[str, ...] = (kubeconfig.current,)
    else:
        names = config.contexts
        available = ", ".join(kubeconfig.contexts) or "none"
        unknown = [
            (f"contexts.{index}", f"{name!r} is not a context of {path} (it has: {available})")
            for index, name in enumerate(names)
            if name not in kubeconfig.contexts
        ]
        if unknown:
            raise SectionError.of(unknown)
    # A server port out of range would otherwise fail every collection, not the start.
    bad = sorted({where for name in names if (where := kubeconfig.bad_ports.get(name))})
    if bad:
        raise SectionError.of([("kubeconfig", f"{path}: {where}: {PORT_RANGE}") for where in bad])
    return tuple(Target(name, path) for name in names)


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
        raise SectionError("contexts", "needs a kubeconfig (without one the service account is used)")
    if not environ.get(SERVICE_HOST_ENV_NAME):
        raise SectionError(
            "kubeconfig",
            f"not set, and not running in a cluster (${SERVICE_HOST_ENV_NAME} is unset) "
            "to use its service account",
        )
    return Target(environ.get(IN_CLUSTER_CONTEXT_ENV) or DEFAULT_IN_CLUSTER_CONTEXT)


@dataclass(frozen=True)
class _Kubeconfig:
    """What the section is checked against."""

    contexts: tuple[str, ...]
    current: str
    bad_ports: Mapping[str, str]  # context -> where in the file its cluster's server names a bad port


def _read_kubeconfig(path: Path) -> _Kubeconfig:
    """The file read as plain YAML: the client's loader insists on a current-context even when the
    config names its contexts."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SectionError("kubeconfig", f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SectionError("kubeconfig", f"{path}: cannot read: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        # Only where: the parser's own words may quote the file, which holds credentials.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise SectionError("kubeconfig", f"{path}: not valid YAML{where}") from None
    contexts = document.get("contexts") if isinstance(document, dict) else None
    if not isinstance(contexts, list):
        raise SectionError("kubeconfig", f"{path}: contexts: missing, or not a list")
    servers = _servers(document.get("clusters"))
    names: list[str] = []
    bad_ports: dict[str, str] = {}
    for item in contexts:
        if not (isinstance(item, dict) and item.get("name")):
            continue
        name = str(item["name"])
        names.append(name)
        context = item.get("context")
        cluster = context.get("cluster") if isinstance(context, dict) else None
        if (found := servers.get(str(cluster))) is not None and not _port_in_range(found[1]):
            bad_ports[name] = f"clusters.{found[0]}.cluster.server"
    current = document.get("current-context")
    return _Kubeconfig(tuple(names), current if isinstance(current, str) else "", bad_ports)


def _servers(clusters: object) -> dict[str, tuple[int, str]]:
    """Cluster name -> (its index in the file, its server URL)."""
    found: dict[str, tuple[int, str]] = {}
    for index, item in enumerate(clusters if isinstance(clusters, list) else []):
        cluster = item.get("cluster") if isinstance(item, dict) else None
        server = cluster.get("server") if isinstance(cluster, dict) else None
        if isinstance(item, dict) and item.get("name") and isinstance(server, str):
            found.setdefault(str(item["name"]), (index, server))
    return found


def _port_in_range(url: str) -> bool:
    try:
        url_port(urlsplit(url))
    except PortError:
        return False
    except ValueError:
        return True  # not a URL urlsplit takes: left to the client, which says so at collection
    return True


def _loader(environ: Mapping[str, str]) -> InClusterConfigLoader:
    return InClusterConfigLoader(  # type: ignore[no-untyped-call]
        token_filename=SERVICE_TOKEN_FILENAME, cert_filename=SERVICE_CERT_FILENAME, environ=environ
    )


# --- listing pods and nodes ------------------------------------------------------------------------

# A continue token expires when etcd compacts (about 5 minutes); needing more than a few fresh
# starts in one collection means the list cannot finish, and waiting longer will not help.
MAX_LIST_RESTARTS: Final = 3

ClientFactory = Callable[[Target, Mapping[str, str]], ApiClient]


class _ContinueExpired(Exception):
    """The API server no longer serves the list our continue token points into (HTTP 410)."""


@dataclass
class _Counts:
    pages: int = 0
    restarts: int = 0


class KubernetesClient:
    """Lists the selected pods and their nodes in every target cluster, one cluster after another."""

    def __init__(
        self,
        targets: Iterable[Target],
        query: ListQuery,
        timeout: float,
        environ: Mapping[str, str],
        *,
        client_factory: ClientFactory = new_api_client,
        monotonic: Callable[[], float] = time.monotonic,
        body_size_limit: int = DEFAULT_BODY_SIZE_LIMIT,
    ) -> None:
        self._targets = tuple(targets)
        self._query = query
        self._timeout = timeout
        self._body_size_limit = body_size_limit
        self._environ = environ
        self._client_factory = client_factory
        self._monotonic = monotonic
        self._clients: dict[str, ApiClient] = {}  # per context, made on first use

    @property
    def contexts(self) -> tuple[str, ...]:
        return tuple(target.context for target in self._targets)

    def fetch(self) -> ClusterListings:
        deadline = Deadline(self._timeout, self._monotonic, "listing pods and nodes")
        counts = _Counts()
        listings = tuple(self._list_cluster(target, deadline, counts) for target in self._targets)
        return ClusterListings(listings=listings, pages=counts.pages, restarts=counts.restarts)

    def _list_cluster(self, target: Target, deadline: Deadline, counts: _Counts) -> ContextListing:
        api = CoreV1Api(self._client(target))
        try:
            pods = self._pods(api, target, deadline, counts)
            wanted = _node_names(pods)
            nodes = self._nodes(api, target, wanted, deadline, counts) if wanted else []
        except UpstreamAuthError:
            # Load the kubeconfig again next time: the operator may have rotated the credentials.
            self._forget(target)
            raise
        return ContextListing(context=target.context, pods=tuple(pods), nodes=tuple(nodes))

    def _pods(self, api: CoreV1Api, target: Target, deadline: Deadline, counts: _Counts) -> list[Any]:
        selector = self._query.selector or None
        if not self._query.namespaces:
            call = _bound(api.list_pod_for_all_namespaces, label_selector=selector)
            return self._list(call, f"context {target.context}: list pods", deadline, counts, slim_pod)
        pods: list[Any] = []
        for namespace in self._query.namespaces:
            call = _bound(api.list_namespaced_pod, namespace, label_selector=selector)
            where = f"context {target.context}: list pods in namespace {namespace}"
            pods.extend(self._list(call, where, deadline, counts, slim_pod))
        return pods

    def _nodes(
        self, api: CoreV1Api, target: Target, wanted: set[str], deadline: Deadline, counts: _Counts
    ) -> list[Any]:
        def slim_wanted(item: Any) -> Any:
            return slim_node(item) if _node_name(item) in wanted else None

        where = f"context {target.context}: list nodes"
        nodes = self._list(_bound(api.list_node), where, deadline, counts, slim_wanted)
        return [node for node in nodes if node is not None]

    def _list(
        self,
        call: Callable[..., Any],
        where: str,
        deadline: Deadline,
        counts: _Counts,
        slim: Callable[[Any], Any],
    ) -> list[Any]:
        for _ in range(MAX_LIST_RESTARTS + 1):
            try:
                return self._pages(call, where, deadline, counts, slim)
            except _ContinueExpired:
                counts.restarts += 1
        raise UpstreamUnavailable(
            f"{where}: the continue token expired {MAX_LIST_RESTARTS + 1} times; the list never completed"
        )

    def _pages(
        self,
        call: Callable[..., Any],
        where: str,
        deadline: Deadline,
        counts: _Counts,
        slim: Callable[[Any], Any],
    ) -> list[Any]:
        items: list[Any] = []
        token: str | None = None
        while True:
            counts.pages += 1
            page, token = self._page(call, where, token, deadline)
            items.extend(slim(item) for item in page)
            if not token:
                return items

    def _page(
        self, call: Callable[..., Any], where: str, token: str | None, deadline: Deadline
    ) -> tuple[list[Any], str | None]:
        try:
            response = call(
                limit=self._query.page_size,
                _continue=token,
                _preload_content=False,
                _request_timeout=deadline.remaining(),
            )
        except ApiException as exc:
            if exc.status == GONE and token is not None:
                raise _ContinueExpired from None
            raise api_error(exc, where) from None
        except HTTPError as exc:
            raise transport_error(exc, where) from None
        return _decode_page(read_body(response, deadline, self._body_size_limit, where), where)

    def _client(self, target: Target) -> ApiClient:
        client = self._clients.get(target.context)
        if client is None:
            client = self._clients[target.context] = self._client_factory(target, self._environ)
        return client

    def _forget(self, target: Target) -> None:
        client = self._clients.pop(target.context, None)
        if client is not None:
            client.close()  # type: ignore[no-untyped-call]


def _bound(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
    def call(**more: Any) -> Any:
        return method(*args, **kwargs, **more)

    return call


def _decode_page(data: bytes | bytearray, where: str) -> tuple[list[Any], str | None]:
    """A list answer's items and continue token; UpstreamParseError for anything else."""
    body = loads_json(data, where)
    items = body.get("items") if isinstance(body, dict) else None
    if items is None and isinstance(body, dict) and "items" in body:
        items = []  # the API server sends "items": null for an empty list
    if not isinstance(items, list):
        raise parse_error(where, "the answer is not a Kubernetes list (no items)")
    metadata = body.get("metadata")
    token = metadata.get("continue") if isinstance(metadata, dict) else None
    return items, token if isinstance(token, str) and token else None


def _node_names(pods: Iterable[Any]) -> set[str]:
    names = set()
    for pod in pods:
        spec = pod.get("spec") if isinstance(pod, dict) else None
        name = spec.get("nodeName") if isinstance(spec, dict) else None
        if isinstance(name, str) and name:
            names.add(name)
    return names


def _node_name(node: Any) -> str | None:
    metadata = node.get("metadata") if isinstance(node, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else None


# --- each listed object cut down to the fields the collector reads, as soon as its page arrives ----
# A real pod is 5-20 KB of JSON (managed fields, env, volumes, the last-applied annotation) of which
# the collector reads a few hundred bytes; keeping only those bounds memory to one page of full
# objects at a time. Nothing is validated here: a field of the wrong type is kept as it came, so
# that ``records`` sees it and skips and counts the record.

_POD_METADATA: Final = (
    "name",
    "namespace",
    "labels",
    "ownerReferences",
    "creationTimestamp",
    "deletionTimestamp",
)
_POD_SPEC: Final = ("nodeName", "overhead", "nodeSelector")
_POD_STATUS: Final = ("phase", "reason", "conditions", "startTime")
_CONTAINER_STATUS: Final = ("name", "ready", "started", "state")
_NODE_METADATA: Final = ("name", "labels")
_NODE_SPEC: Final = ("providerID",)
_NODE_STATUS: Final = ("capacity", "allocatable")


def slim_pod(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    spec, status = item.get("spec"), item.get("status")
    slim: dict[str, Any] = {"metadata": _pick(item.get("metadata"), _POD_METADATA)}
    if isinstance(spec, dict):
        slim_spec = _pick(spec, _POD_SPEC)
        for key in ("containers", "initContainers"):
            if key in spec:
                slim_spec[key] = _resources_only(spec[key])
        slim["spec"] = slim_spec
    else:
        slim["spec"] = spec
    if isinstance(status, dict):
        slim_status = _pick(status, _POD_STATUS)
        for key in ("containerStatuses", "initContainerStatuses"):
            if key in status:
                slim_status[key] = _each(status[key], _CONTAINER_STATUS)
        slim["status"] = slim_status
    else:
        slim["status"] = status
    return slim


def slim_node(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    return {
        "metadata": _pick(item.get("metadata"), _NODE_METADATA),
        "spec": _pick(item.get("spec"), _NODE_SPEC),
        "status": _pick(item.get("status"), _NODE_STATUS),
    }


def _pick(value: Any, keys: Iterable[str]) -> Any:
    if not isinstance(value, dict):
        return value
    return {key: value[key] for key in keys if key in value}


def _resources_only(containers: Any) -> Any:
    if not isinstance(containers, list):
        return containers
    return [
        {"resources": container.get("resources")} if isinstance(container, dict) else container
        for container in containers
    ]


def _each(values: Any, keys: Iterable[str]) -> Any:
    keys = tuple(keys)
    return [_pick(value, keys) for value in values] if isinstance(values, list) else values


# --- client and urllib3 failures as the exporter's error classes, with bounded messages ------------
# The API server's own explanation (the ``message`` of its ``Status`` body) is kept, cut short;
# tokens never appear in either side's messages.

GONE: Final = 410
_MAX_MESSAGE = 300


def api_error(exc: ApiException, where: str) -> CollectorError:
    """An HTTP error answer (or the client's status-0 transport error, e.g. TLS) as an exporter error."""
    status = exc.status or 0
    message = f"{where}: HTTP {status} {exc.reason or ''}".rstrip() + _status_message(exc.body)
    if status in (401, 403):
        return UpstreamAuthError(message)
    if status in {0, 429} or status >= 500:
        return UpstreamUnavailable(message)
    return CollectorError(message)


def transport_error(exc: HTTPError, where: str) -> CollectorError:
    """A failure below HTTP (refused, reset, timed out); retries are off, so one attempt's cause."""
    cause: BaseException = exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc
    # NewConnectionError (refused, unresolvable) subclasses ConnectTimeoutError in urllib3: test it first.
    if isinstance(cause, NewConnectionError):
        return UpstreamUnavailable(f"{where}: cannot connect ({_short(cause)})")
    if isinstance(cause, ConnectTimeoutError | ReadTimeoutError | TimeoutError):
        return UpstreamTimeout(f"{where}: no answer in time")
    return UpstreamUnavailable(f"{where}: {type(cause).__name__} ({_short(cause)})")


def parse_error(where: str, problem: str) -> UpstreamParseError:
    return UpstreamParseError(f"{where}: {problem}")


def _status_message(body: object) -> str:
    """The ``message`` of a Kubernetes ``Status`` body, if the error carried one."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body:
        return ""
    try:
        status = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the decoder follows
        return ""
    message = status.get("message") if isinstance(status, dict) else None
    return f": {_bounded(message)}" if isinstance(message, str) and message else ""


def _short(exc: BaseException) -> str:
    # urllib3 prefixes its messages with the connection object's repr: keep the part after it.
    return _bounded(str(exc).rpartition(">: ")[2] or type(exc).__name__)


def _bounded(text: str) -> str:
    if not encodable(text):
        # A lone surrogate from the API server's JSON would make logging this message fail.
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = redact_text(" ".join(text.split()))
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "..."

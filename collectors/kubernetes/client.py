"""Listing pods and nodes from each cluster: paginated, restarted on 410, within one time budget.

Responses are read with ``_preload_content=False`` and parsed with ``json``: the client's own model
deserialisation builds a pydantic object per field and costs seconds at a few thousand pods (see
docs/performance.md). Each page is read in pieces within the collection's deadline and
``body_size_limit`` (the client's own read has neither bound), then cut down to the fields the
collector reads (``slim``) as it arrives.
"""

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from kubernetes.client import ApiClient, CoreV1Api
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from collectors.kubernetes.connection import Target, new_api_client
from collectors.kubernetes.errors import GONE, api_error, parse_error, transport_error
from collectors.kubernetes.listing import ClusterListings, ContextListing, ListQuery
from collectors.kubernetes.slim import slim_node, slim_pod
from exporter.deadline import Deadline
from exporter.errors import UpstreamAuthError, UpstreamUnavailable
from exporter.upstream import DEFAULT_BODY_SIZE_LIMIT, loads_json, read_body

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

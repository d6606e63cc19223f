"""Automatic sharding, as kube-state-metrics does it: run the exporter as a StatefulSet, and each pod
is the shard of its ordinal (the ``-<n>`` its name ends in) out of the StatefulSet's
``spec.replicas``.

Both are read from the in-cluster Kubernetes API with the pod's service account: the pod
(``GET /api/v1/namespaces/NS/pods/NAME``) names its StatefulSet in its owner references, and the
StatefulSet (``GET /apis/apps/v1/namespaces/NS/statefulsets/NAME``) says how many replicas it
runs. They are re-read every minute and at a reload, so scaling the StatefulSet reshards every
exporter without a restart. Only ``requests`` is used: the ``kubernetes`` library belongs to the
Kubernetes collector, and this needs two GETs.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from exporter.deadline import Deadline
from exporter.errors import UpstreamParseError, UpstreamTimeout, UpstreamUnavailable
from exporter.sharding import CurrentShard, Shard
from exporter.upstream import loads_json, read_body

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
HOST_ENV = "KUBERNETES_SERVICE_HOST"
PORT_ENV = "KUBERNETES_SERVICE_PORT"
REREAD_SECONDS = 60.0
_TIMEOUT_SECONDS = 10.0
_BODY_LIMIT = 4 * 2**20  # a pod or a StatefulSet is a few kilobytes


class ShardDiscoveryError(Exception):
    """The shard cannot be read; the message is safe to log (it never holds the token)."""


@dataclass(frozen=True)
class InClusterApi:
    """Where the Kubernetes API is and how to prove who we are: what a pod is given, or, in tests,
    a loopback server (``ca_file`` None means plain HTTP)."""

    base_url: str
    token_file: Path
    ca_file: Path | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], account_dir: Path | None = None) -> "InClusterApi":
        """The API a pod is given: the host and port in its environment, its service account's
        token and CA in ``account_dir`` (default: where the kubelet mounts them)."""
        account_dir = SERVICE_ACCOUNT_DIR if account_dir is None else account_dir
        host, port = environ.get(HOST_ENV, "").strip(), environ.get(PORT_ENV, "").strip()
        if not host or not port:
            raise ShardDiscoveryError(
                f"{HOST_ENV} and {PORT_ENV} are not set: --pod needs the in-cluster Kubernetes API "
                "(run in a pod, or use --shard and --total-shards)"
            )
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        return cls(f"https://{host}:{port}", account_dir / "token", account_dir / "ca.crt")


def pod_ordinal(pod: str, statefulset: str) -> int:
    """The ordinal of a StatefulSet's pod, from its name ``<statefulset>-<n>``."""
    prefix = f"{statefulset}-"
    ordinal = pod.removeprefix(prefix)
    if not pod.startswith(prefix) or not ordinal.isdigit() or not ordinal.isascii():
        raise ShardDiscoveryError(f"pod {pod} is not named {prefix}<ordinal>: cannot tell its shard")
    return int(ordinal)


class StatefulSetShard:
    """Reads which shard a pod of a StatefulSet is: its ordinal of ``spec.replicas``."""

    def __init__(
        self,
        pod: str,
        namespace: str,
        api: InClusterApi,
        session_factory: Callable[[], requests.Session] = requests.Session,
        timeout: float = _TIMEOUT_SECONDS,
    ) -> None:
        self.pod = pod
        self.namespace = namespace
        self._api = api
        self._session_factory = session_factory
        self._timeout = timeout

    def read(self) -> Shard:
        """The shard now; ShardDiscoveryError when the API cannot say."""
        namespace = quote(self.namespace, safe="")
        pod = self._get(f"/api/v1/namespaces/{namespace}/pods/{quote(self.pod, safe='')}", "pod")
        statefulset = _owning_statefulset(pod, self.pod)
        path = f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{quote(statefulset, safe='')}"
        found = self._get(path, "statefulset")
        spec = found.get("spec")
        replicas = spec.get("replicas", 1) if isinstance(spec, Mapping) else 1
        # As kube-state-metrics: a StatefulSet that does not say has one replica.
        replicas = 1 if replicas is None else replicas
        if isinstance(replicas, bool) or not isinstance(replicas, int):
            raise ShardDiscoveryError(f"statefulset {statefulset}: spec.replicas is not a number")
        if replicas < 1:
            raise ShardDiscoveryError(f"statefulset {statefulset} is scaled to {replicas} replicas")
        return Shard(pod_ordinal(self.pod, statefulset), replicas)

    def _get(self, path: str, what: str) -> Mapping[str, Any]:
        where = f"{what} {self.namespace}/{path.rpartition('/')[2]}"
        try:
            token = self._api.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ShardDiscoveryError(
                f"cannot read the service-account token {self._api.token_file}: {exc.strerror}"
            ) from None
        deadline = Deadline(self._timeout, time.monotonic, f"GET {where}")
        verify: str | bool = str(self._api.ca_file) if self._api.ca_file is not None else True
        try:
            with self._session_factory() as session:
                response = session.get(
                    self._api.base_url + path,
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                    timeout=deadline.remaining(),
                    verify=verify,
                    stream=True,
                    allow_redirects=False,
                )
                status = response.status_code
                body = read_body(response, deadline, _BODY_LIMIT, f"GET {where}")
        except requests.RequestException as exc:
            raise ShardDiscoveryError(
                f"cannot reach the Kubernetes API at {self._api.base_url} ({type(exc).__name__})"
            ) from None
        except (UpstreamTimeout, UpstreamUnavailable, UpstreamParseError) as exc:
            raise ShardDiscoveryError(str(exc)) from None
        if status in (401, 403):
            raise ShardDiscoveryError(
                f"the Kubernetes API refused to get {where} (HTTP {status}): the service account "
                "needs get on its own pod and StatefulSet (monitoring/kubernetes-sharded/)"
            )
        if status != 200:
            raise ShardDiscoveryError(f"GET {where}: the Kubernetes API answered HTTP {status}")
        try:
            document = loads_json(body, f"GET {where}")
        except UpstreamParseError as exc:
            raise ShardDiscoveryError(str(exc)) from None
        if not isinstance(document, Mapping):
            raise ShardDiscoveryError(f"GET {where}: not a JSON object")
        return document


def _owning_statefulset(pod: Mapping[str, Any], name: str) -> str:
    metadata = pod.get("metadata")
    owners = metadata.get("ownerReferences") if isinstance(metadata, Mapping) else None
    for owner in owners if isinstance(owners, list) else []:
        if (
            isinstance(owner, Mapping)
            and owner.get("kind") == "StatefulSet"
            and isinstance(owner.get("name"), str)
            and owner["name"]
        ):
            return str(owner["name"])
    raise ShardDiscoveryError(
        f"pod {name} is not run by a StatefulSet (no such owner reference): --pod needs one; "
        "use --shard and --total-shards otherwise"
    )


class ShardWatch:
    """Keeps the current shard in step with the StatefulSet: re-read every ``interval`` seconds and
    at ``refresh()`` (a reload). A change is logged once; so is a failure, and the last shard read
    stays in force until the API answers again."""

    def __init__(
        self,
        source: StatefulSetShard,
        current: CurrentShard,
        logger: logging.Logger,
        interval: float = REREAD_SECONDS,
    ) -> None:
        self._source = source
        self._current = current
        self._logger = logger
        self._interval = interval
        self._lock = threading.Lock()  # a reload and the timer may read at once
        self._problem: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> Shard:
        """Read the shard and make it current; the shard in force afterwards."""
        with self._lock:
            try:
                shard = self._source.read()
            except ShardDiscoveryError as exc:
                if str(exc) != self._problem:
                    kept = self._current()
                    self._logger.warning(
                        "cannot re-read the shard; keeping the current one",
                        extra={"shard": kept.index, "total_shards": kept.total, "error": str(exc)},
                    )
                self._problem = str(exc)
                return self._current()
            if self._problem is not None:
                self._logger.info("shard readable again", extra={"pod": self._source.pod})
                self._problem = None
            previous = self._current()
            if self._current.set(shard):
                self._logger.info(
                    "resharded: collectors keep the new share from their next run",
                    extra={
                        "shard": shard.index,
                        "total_shards": shard.total,
                        "previous_shard": previous.index,
                        "previous_total_shards": previous.total,
                    },
                )
                warn_if_surplus(shard, self._logger)
            return shard

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="shard-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.refresh()


def warn_if_surplus(shard: Shard, logger: logging.Logger) -> None:
    if shard.index >= shard.total:
        logger.warning(
            "this pod's ordinal is past the StatefulSet's replicas: it serves no fleet series until "
            "the StatefulSet is scaled up (it is normally being stopped)",
            extra={"shard": shard.index, "total_shards": shard.total},
        )

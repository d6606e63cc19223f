"""A Kubernetes API on loopback with what automatic sharding reads: one pod and its StatefulSet.

Over TLS with a throwaway CA (as a pod's service account sees the API), requiring the bearer
token of the service-account directory it writes, and counting what it is asked.
"""

import json
import ssl
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

TOKEN = "k8s-token-not-for-logs"
NAMESPACE = "monitoring"
STATEFULSET = "skyserve-exporter"


@dataclass
class ApiState:
    """What the fake API answers; tests change it while the server runs."""

    pod: str = f"{STATEFULSET}-1"
    replicas: int | None = 3
    owner_kind: str = "StatefulSet"
    status: int = 200  # answer every request with this status instead (e.g. 403, 500)
    asked: Counter[str] = field(default_factory=Counter)

    def answer(self, path: str) -> tuple[int, Any]:
        if self.status != 200:
            return self.status, {"kind": "Status", "message": "no"}
        if path == f"/api/v1/namespaces/{NAMESPACE}/pods/{self.pod}":
            owner = {
                "apiVersion": "apps/v1",
                "kind": self.owner_kind,
                "name": STATEFULSET,
                "controller": True,
            }
            return 200, {"kind": "Pod", "metadata": {"name": self.pod, "ownerReferences": [owner]}}
        if path == f"/apis/apps/v1/namespaces/{NAMESPACE}/statefulsets/{STATEFULSET}":
            spec = {} if self.replicas is None else {"replicas": self.replicas}
            return 200, {"kind": "StatefulSet", "metadata": {"name": STATEFULSET}, "spec": spec}
        return 404, {"kind": "Status", "reason": "NotFound"}


@dataclass(frozen=True)
class FakeApi:
    state: ApiState
    host: str
    port: int
    account_dir: Path  # holds token and ca.crt, as the kubelet mounts them

    @property
    def environ(self) -> dict[str, str]:
        return {"KUBERNETES_SERVICE_HOST": self.host, "KUBERNETES_SERVICE_PORT": str(self.port)}


def _handler(state: ApiState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.asked[self.path] += 1
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                status, body = 401, {"kind": "Status", "reason": "Unauthorized"}
            else:
                status, body = state.answer(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def fake_api(directory: Path, state: ApiState | None = None) -> Iterator[FakeApi]:
    state = state if state is not None else ApiState()
    ca = trustme.CA()
    account_dir = directory / "serviceaccount"
    account_dir.mkdir()
    (account_dir / "token").write_text(TOKEN + "\n")
    ca.cert_pem.write_to_path(str(account_dir / "ca.crt"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield FakeApi(state, "127.0.0.1", int(server.server_address[1]), account_dir)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

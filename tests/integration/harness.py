"""Real processes on loopback for the integration tests: the exporter and Prometheus."""

import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import requests
import trustme
from prometheus_client.parser import text_string_to_metric_families

from simulator.demo import demo_catalog_dir

T = TypeVar("T")

EXPORTER = Path(sys.executable).with_name("skyserve-exporter")
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class HealthHandler(BaseHTTPRequestHandler):
    """A probe target that is always healthy: 200 ``ok`` to any GET, nothing logged."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def tls_health_server(workdir: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS health endpoint on loopback with a certificate from a throwaway CA: its URL and
    the CA file that verifies it."""
    ca = trustme.CA()
    ca_file = workdir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), HealthHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/health", ca_file
    finally:
        server.shutdown()
        server.server_close()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def bindable(port: int) -> bool:
    """Whether ``port`` can be bound on loopback now (SO_REUSEADDR on, as servers bind)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port free now, chosen below the kernel's ephemeral range.

    A port from the ephemeral range can be taken, between this check and the child's bind, as the
    source port of any outgoing connection on the machine (the child's own among them); below the
    range only another explicit bind can take it.
    """
    low = _ephemeral_low()
    if low > 11000:
        for _ in range(200):
            port = random.randrange(10000, low)
            if bindable(port):
                return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], T | None], timeout: float, what: str, step: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Process:
    """A child process whose stderr is kept for the failure message."""

    def __init__(self, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            list(argv), stdout=self._log, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL
        )

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


class Exporter(Process):
    def __init__(self, args: Sequence[str], tmp_path: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [str(EXPORTER), "--web.listen-address", f"127.0.0.1:{self.port}", *args]
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("SKYPILOT_")}
        child_env.update(env or {})
        super().__init__(argv, tmp_path / f"exporter-{self.port}.log", child_env)

    def wait_ready(self, timeout: float = 30.0) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"exporter exited {self.proc.returncode}:\n{self.log()}")
            try:
                return requests.get(f"{self.url}/-/ready", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(ready, timeout, "exporter readiness")

    def scrape(self, headers: dict[str, str] | None = None) -> requests.Response:
        response = requests.get(f"{self.url}/metrics", timeout=5, headers=headers)
        response.raise_for_status()
        return response

    def samples(self) -> Samples:
        return parse_samples(self.scrape().text)


def parse_samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def select(samples: Samples, name: str, **labels: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of one metric whose labels include ``labels``."""
    return {
        key_labels: value
        for (sample_name, key_labels), value in samples.items()
        if sample_name == name and all(dict(key_labels).get(k) == v for k, v in labels.items())
    }


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise AssertionError(f"{name} is not installed: run the README's test command, which installs it")
    return path


def prometheus_query(url: str, query: str) -> list[dict[str, Any]]:
    response = requests.get(f"{url}/api/v1/query", params={"query": query}, timeout=5)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def write_config(tmp_path: Path, endpoint: str, **skyserve: str) -> Path:
    keys = {"endpoint": endpoint, "interval": "1s", "timeout": "1s", "stale_after": "60s", **skyserve}
    body = "".join(f"    {key}: {value}\n" for key, value in keys.items())
    path = tmp_path / "config.yml"
    # The price list the simulated fleet's instance types come from: without a catalog the
    # pricing collector is down, as it would be on a machine where SkyPilot never fetched one.
    pricing = f"pricing:\n  catalog_dir: {demo_catalog_dir()}\n"
    path.write_text("collectors:\n  skyserve:\n" + body + pricing)
    return path

"""The real SkyPilot API server (``sky api start``) on loopback, for the integration tests.

``sky api start --host 127.0.0.1 --port PORT`` with ``HOME`` in a temporary directory starts the real
FastAPI/uvicorn server of the installed ``skypilot`` package (a test dependency), offline and with no
cloud credentials. ``sky api start`` spawns it in a new session (``sky/server/common.py``:
``_start_api_server``, ``start_new_session=True``), so the server's PID is also its process group and
every worker it spawns is in that group. ``sky api stop`` kills the server whose ``--port=`` matches
``$SKYPILOT_API_SERVER_LOCAL_PORT`` (``sky/client/sdk.py``: ``_local_api_server_running``); ``stop()``
runs it with the same environment, then kills the process group by PID if anything is left.

The server logs to ``$HOME/.sky/api_server/server.log``; failures carry its tail.
"""

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import bcrypt
import requests

from tests.integration.harness import bindable, free_port, wait_for

SKY = Path(sys.executable).with_name("sky")
SERVER_MODULE = "-m sky.server.server"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
WARM_UP_TIMEOUT = 60.0
START_ATTEMPTS = 3
DEFAULT_API_PORT = 46580  # sky/server/common.py: DEFAULT_SERVER_PORT
DEFAULT_QUEUE_MANAGER_PORT = 50011  # sky/server/requests/queues/mp_queue.py

# On the server's PYTHONPATH for the zero-service tests: it makes the internet check that
# ``serve status`` runs first (sky/serve/server/impl.py: ``backend_utils.check_network_connection()``,
# a HEAD to https://8.8.8.8 and https://1.1.1.1) a no-op, in this server and in every worker process it
# spawns (they get the same environment). Nothing else in the server is changed.
NO_NETWORK_CHECK_SITECUSTOMIZE = '''\
"""Test-only: sky.backends.backend_utils.check_network_connection is a no-op in this process."""

import importlib.abc
import importlib.machinery
import sys

_TARGET = "sky.backends.backend_utils"


def _no_network_check() -> None:
    return None


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != _TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_patch(module):
            exec_module(module)
            module.check_network_connection = _no_network_check

        spec.loader.exec_module = exec_then_patch
        return spec


sys.meta_path.insert(0, _PatchAfterImport())
'''


def queue_manager_port(api_port: int) -> int:
    """The port of the server's request-queue manager, which ``sky`` derives from the API port
    (sky/server/requests/queues/mp_queue.py: ``get_queue_manager_port``); always in [50000, 60000)."""
    return 50000 + (DEFAULT_QUEUE_MANAGER_PORT - 50000 + api_port - DEFAULT_API_PORT) % 10000


def _ports_free(api_port: int) -> bool:
    return bindable(api_port) and bindable(queue_manager_port(api_port))


def pick_port() -> int:
    """An API port that is free, and whose queue-manager port is free too.

    The queue-manager port lies in the kernel's ephemeral range, where any outgoing connection may
    take it; the API port is chosen below that range, so that it stays free while the server is
    stopped for a restart.
    """
    for _ in range(200):
        port = free_port()
        if bindable(queue_manager_port(port)):
            return port
    raise AssertionError("no free pair of API and queue-manager ports on loopback")


def _clean_environ() -> dict[str, str]:
    """This process's environment without anything that points a SkyPilot client or server elsewhere."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SKYPILOT_", "SKY_")) and key not in ("PYTHONPATH", "KUBECONFIG")
    }


def _pids_in_group(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def _server_pids(port: int) -> list[int]:
    """PIDs of ``python -m sky.server.server ... --port=PORT`` processes."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        line = " ".join(arg.decode(errors="replace") for arg in argv)
        if SERVER_MODULE in line and f"--port={port}" in line.split():
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


class PortTaken(AssertionError):
    """The server could not bind its API or queue-manager port."""


class RealSkyServer:
    """One real API server: its own ``HOME``, a fixed loopback port, started and stopped with ``sky api``."""

    def __init__(
        self,
        home: Path,
        *,
        basic_auth: tuple[str, str] | None = None,
        no_network_check: bool = False,
        port: int | None = None,
    ) -> None:
        self.home = home
        self.home.mkdir(parents=True, exist_ok=True)
        self._port_given = port is not None
        self.port = port or pick_port()
        self.basic_auth = basic_auth
        self.pgid: int | None = None
        self.started = False  # once: from then on, the port is the server's for good
        env = _clean_environ()
        env.update(
            {
                "HOME": str(home),
                # Offline, the usage collector's uploads would only time out.
                "SKYPILOT_DISABLE_USAGE_COLLECTION": "1",
            }
        )
        if basic_auth is not None:
            user, password = basic_auth
            # sky/users/permission.py: ``_maybe_initialize_basic_auth_user`` stores the part after the
            # first colon as the user's password hash (verified with passlib, bcrypt among others).
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
            env["SKYPILOT_INITIAL_BASIC_AUTH"] = f"{user}:{hashed}"
        if no_network_check:
            site = home / "sitecustomize"
            site.mkdir(exist_ok=True)
            (site / "sitecustomize.py").write_text(NO_NETWORK_CHECK_SITECUSTOMIZE)
            env["PYTHONPATH"] = str(site)
        self.env = env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home / ".sky" / "api_server" / "server.log"

    def log(self) -> str:
        """The server's log (``sky api start`` truncates it on every start)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:]) or "(empty or missing)"

    def _sky(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        if not SKY.exists():
            raise AssertionError(f"no sky CLI at {SKY}: install the test extras (skypilot) in this venv")
        return subprocess.run(
            [str(SKY), "api", *args],
            # ``sky api stop`` finds the server by this port; the queue-manager port follows it.
            env={**self.env, "SKYPILOT_API_SERVER_LOCAL_PORT": str(self.port)},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> None:
        """``sky api start``; returns once the server answers and has run a first ``serve status``.

        The first start moves to another pair of ports if one was taken in the meantime (the
        queue-manager port is in the ephemeral range); a restart waits for them, as it must keep its
        port.
        """
        for attempt in range(1, START_ATTEMPTS + 1):
            if self.started or self._port_given:
                wait_for(
                    lambda: _ports_free(self.port), 30, f"ports {self.port} and its queue port", step=0.5
                )
            elif not _ports_free(self.port):
                self.port = pick_port()
            try:
                self._start_once()
            except PortTaken:
                if attempt == START_ATTEMPTS or self.started or self._port_given:
                    raise
                self.port = pick_port()
            else:
                self.started = True
                return

    def _start_once(self) -> None:
        args = ["start", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.basic_auth is not None:
            args.append("--enable-basic-auth")
        try:
            try:
                done = self._sky(*args, timeout=START_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"sky api start took over {START_TIMEOUT}s") from None
            finally:
                self._adopt()
            if done.returncode != 0:
                raise AssertionError(f"sky api start exited {done.returncode}:\n{done.stdout}{done.stderr}")
            if self.pgid is None:
                raise AssertionError(f"sky api start left no server process with --port={self.port}")
            wait_for(self.healthy, 30, f"the API server's /api/health on {self.url}", step=0.25)
            self.warm_up()
        except BaseException as exc:
            with suppress(AssertionError):
                self.stop()
            log = self.log_tail()
            if "already in use" in log:
                raise PortTaken(f"port {self.port} or {queue_manager_port(self.port)}:\n{log}") from exc
            if isinstance(exc, AssertionError | requests.RequestException):
                raise AssertionError(f"{exc}\nserver.log:\n{log}") from exc
            raise

    def warm_up(self) -> None:
        """Run one ``serve status`` and wait for its result, whatever it is.

        A fresh server's first request takes 7-10 s on a 2-core machine (its worker imports SkyPilot's
        modules on first use); later ones take well under a second. Doing it here lets the exporter
        run with a 2 s interval and timeout and the tests measure the server's steady state. Loopback
        clients without proxy headers skip the server's basic auth, so this needs no credentials.
        """
        headers = {"X-SkyPilot-API-Version": "62", "X-SkyPilot-Version": "0.14.1"}
        submitted = requests.post(
            f"{self.url}/serve/status", json={"service_names": None}, headers=headers, timeout=10
        )
        submitted.raise_for_status()
        request_id = submitted.headers["X-Skypilot-Request-ID"]
        requests.get(
            f"{self.url}/api/get", params={"request_id": request_id}, headers=headers, timeout=WARM_UP_TIMEOUT
        )

    def _adopt(self) -> None:
        """Remember the server's process group (its PID: ``sky api start`` gives it its own session)."""
        pids = _server_pids(self.port)
        if pids:
            self.pgid = os.getpgid(min(pids))

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/api/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        """``sky api stop``, then SIGKILL to whatever of the server's process group is left. Never raises
        while a process could be left behind; raises afterwards if ``sky api stop`` did not do its job."""
        problem = ""
        try:
            done = self._sky("stop", timeout=STOP_TIMEOUT)
            if done.returncode != 0:
                problem = f"sky api stop exited {done.returncode}: {done.stdout}{done.stderr}"
        except subprocess.TimeoutExpired:
            problem = f"sky api stop took over {STOP_TIMEOUT}s"
        pgid = self.pgid
        leftover = [*(_pids_in_group(pgid) if pgid else []), *_server_pids(self.port)]
        deadline = time.monotonic() + 5
        while leftover and time.monotonic() < deadline:
            time.sleep(0.1)
            leftover = [pid for pid in leftover if _alive(pid)]
        if leftover:
            problem = problem or f"processes {leftover} outlived sky api stop"
            if pgid:
                with suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
            for pid in leftover:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            wait_for(lambda: not any(_alive(pid) for pid in leftover), 10, "killed server processes")
        self.pgid = None
        if problem:
            raise AssertionError(problem)

    def ensure_running(self) -> None:
        """Start the server again if a test stopped or killed it."""
        if self.pgid is not None and self.healthy():
            return
        if self.pgid is not None:
            self.stop()
        self.start()

    def kill(self) -> None:
        """Kill the server by PID, without ``sky api stop``: SIGKILL to its whole process group."""
        pgid = self.pgid
        if pgid is None:
            raise AssertionError("no server to kill")
        pids = _pids_in_group(pgid)
        os.killpg(pgid, signal.SIGKILL)
        wait_for(lambda: not any(_alive(pid) for pid in pids), 10, "the killed server's processes")
        self.pgid = None

    def alive_pids(self) -> list[int]:
        """Live processes of the server's process group."""
        return [pid for pid in _pids_in_group(self.pgid)] if self.pgid else []


@contextmanager
def real_sky_server(home: Path, **kwargs: Any) -> Iterator[RealSkyServer]:
    server = RealSkyServer(home, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}
)


class ForwardingProxy:
    """A loopback reverse proxy that adds ``X-Forwarded-For``, as an ingress in front of the server would.

    The real server skips basic auth for loopback clients that come without proxy headers
    (``sky/server/auth/loopback.py``), so basic auth is only enforced through a proxy. Records the
    authorization scheme of each request it forwards.
    """

    def __init__(self, upstream_port: int, client_ip: str = "10.11.12.13") -> None:
        self.auth_schemes: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                headers["X-Forwarded-For"] = client_ip
                proxy.auth_schemes.append((self.headers.get("Authorization") or "none").split(" ")[0])
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                except OSError as exc:
                    self.send_error(502, f"upstream: {type(exc).__name__}")
                    return
                finally:
                    upstream.close()
                self.send_response(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, userinfo: str = "") -> str:
        return f"http://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}"

    def __enter__(self) -> "ForwardingProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

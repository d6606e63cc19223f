"""The container image, built from the real Dockerfile and run: /metrics, the healthcheck, the stop signal.

No container registry is reachable here, so `python:3.12-slim` is a local stand-in made from
Debian's packages (scripts/container_standin_base.sh) and the Dockerfile builds unchanged with
--pull=never. Podman runs rootful with the flags of scripts/container_podman.sh. The base image and
podman's storage are cached in ~/.cache/skyserve-exporter, so only a first run pays for debootstrap.
"""

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.harness import free_port, parse_samples, select, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PODMAN = ["bash", str(ROOT / "scripts" / "container_podman.sh")]
IMAGE = "localhost/skyserve-exporter:test"
STOP_TIMEOUT = 5


@dataclass(frozen=True)
class Built:
    tag: str
    build_seconds: float
    size_bytes: int


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*PODMAN, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} exited {result.returncode}:\n{result.stderr[-4000:]}")
    return result


def inspect(ref: str, template: str, kind: str = "container") -> str:
    return podman(kind, "inspect", "--format", template, ref).stdout.strip()


def require_tools() -> None:
    if os.geteuid() != 0:
        pytest.skip("the image test runs rootful podman and debootstrap: run it as root (CI does)")
    for tool in ("podman", "runc", "debootstrap"):
        if shutil.which(tool) is None:
            raise AssertionError(f"{tool} is not installed: run the README's test command, which installs it")


@pytest.fixture(scope="module")
def image() -> Iterator[Built]:
    require_tools()
    base = subprocess.run(
        ["bash", str(ROOT / "scripts" / "container_standin_base.sh")],
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    assert base.returncode == 0, base.stdout + base.stderr
    started = time.monotonic()
    build = podman(
        "build",
        "--pull=never",  # no registry: FROM python:3.12-slim resolves to the local image
        "--format=docker",  # OCI image configs have no HEALTHCHECK: podman would drop it
        "--layers=false",  # one commit per stage: vfs copies the whole tree at every commit
        "--network=host",
        "--volume=/etc/ssl/certs:/etc/ssl/certs:ro",  # pip inside the build trusts what the host trusts
        "--tag",
        IMAGE,
        str(ROOT),
        timeout=900,
    )
    seconds = time.monotonic() - started
    assert "Successfully tagged" in build.stdout + build.stderr
    size = int(inspect(IMAGE, "{{.Size}}", kind="image"))
    print(f"\nimage {IMAGE}: built in {seconds:.0f}s, {size / 1e6:.0f} MB")
    try:
        yield Built(IMAGE, seconds, size)
    finally:
        podman("rmi", "--force", IMAGE, check=False)
        podman("image", "prune", "--force", check=False)


@pytest.fixture
def container_name() -> Iterator[str]:
    name = f"skyserve-exporter-test-{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        podman("rm", "--force", "--time", "0", name, check=False)


def test_image_config(image: Built) -> None:
    config: dict[str, Any] = {
        "user": inspect(image.tag, "{{.Config.User}}", kind="image"),
        "ports": inspect(image.tag, "{{range $p, $_ := .Config.ExposedPorts}}{{$p}} {{end}}", kind="image"),
        "stop": inspect(image.tag, "{{.Config.StopSignal}}", kind="image"),
        "entrypoint": inspect(image.tag, "{{json .Config.Entrypoint}}", kind="image"),
        "cmd": inspect(image.tag, "{{json .Config.Cmd}}", kind="image"),
        "healthcheck": inspect(image.tag, "{{json .Config.Healthcheck.Test}}", kind="image"),
    }
    assert config["user"] == "10001:10001"
    assert config["ports"].split() == ["9091/tcp"]
    assert config["stop"] == "SIGTERM"
    assert config["entrypoint"] == '["skyserve-exporter"]'
    assert config["cmd"] == '["--config","/etc/skyserve-exporter/config.yml"]'
    assert "exporter.healthcheck" in config["healthcheck"]
    assert image.size_bytes < 600e6, f"{image.size_bytes / 1e6:.0f} MB"


def test_demo_container_serves_passes_its_healthcheck_and_stops_on_the_stop_signal(
    image: Built, container_name: str
) -> None:
    port = free_port()
    podman(
        "run",
        "--detach",
        "--name",
        container_name,
        "--publish",
        f"127.0.0.1:{port}:9091",
        # As the Kubernetes Deployment runs it: read-only root, no capabilities, no privilege gain.
        "--read-only",
        "--tmpfs=/tmp",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        image.tag,
        "--demo",
        "--web.listen-address",
        ":9091",
        timeout=300,
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if inspect(container_name, "{{.State.Running}}") != "true":
            logs = podman("logs", container_name, check=False)
            raise AssertionError(f"the container exited:\n{logs.stdout}{logs.stderr}")
        try:
            return requests.get(f"{url}/-/ready", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(ready, 120, "the container's /-/ready", step=0.5)

    metrics = requests.get(f"{url}/metrics", timeout=5)
    assert metrics.status_code == 200
    samples = parse_samples(metrics.text)
    assert select(samples, "skyserve_exporter_collector_up", collector="skyserve") == {
        (("collector", "skyserve"),): 1.0
    }
    assert select(samples, "skyserve_service_status", status="READY")

    health = podman("healthcheck", "run", container_name, check=False, timeout=60)
    assert health.returncode == 0, health.stdout + health.stderr
    assert inspect(container_name, "{{.State.Health.Status}}") == "healthy"

    started = time.monotonic()
    podman("stop", "--time", str(STOP_TIMEOUT), container_name, timeout=60)
    elapsed = time.monotonic() - started
    assert inspect(container_name, "{{.State.ExitCode}}") == "0"
    assert elapsed < STOP_TIMEOUT, f"stop took {elapsed:.1f}s: the exporter ignored the stop signal"
    logs = podman("logs", container_name)
    assert "signal=SIGTERM" in logs.stdout + logs.stderr


def test_the_default_config_reads_the_endpoint_from_the_environment(image: Built) -> None:
    with_endpoint = podman(
        "run",
        "--rm",
        "--env",
        "SKYPILOT_API_SERVER_ENDPOINT=http://127.0.0.1:9",
        image.tag,
        "--config",
        "/etc/skyserve-exporter/config.yml",
        "--config.check",
        timeout=300,
        check=False,
    )
    assert with_endpoint.returncode == 0, with_endpoint.stdout + with_endpoint.stderr
    assert "skyserve" in with_endpoint.stdout and "probes" in with_endpoint.stdout

    # Without it, `docker run IMAGE` stops at once with a config error naming what is missing.
    without = podman("run", "--rm", image.tag, timeout=300, check=False)
    assert without.returncode == 2, without.stdout + without.stderr
    assert "SKYPILOT_API_SERVER_ENDPOINT" in without.stderr

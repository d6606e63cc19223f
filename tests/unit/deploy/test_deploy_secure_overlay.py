"""monitoring/kubernetes-secure/: the base behind TLS and basic auth, rendered and checked like the base.

The overlay is rendered here by applying its JSON 6902 patches to the base's objects in Python (no
kustomize needed); where kubectl is installed, `kubectl kustomize` must render the same. The result
goes through `kubernetes-validate --strict` and the Operator's CRD schema as in
test_deploy_manifests.py, and the wiring is checked against the commands of docs/container.md: the
Secret keys they create are the ones the manifests read, and the web config they write loads.
"""

import copy
import http.client
import logging
import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from exporter import healthcheck
from exporter.server import HTTPServer
from exporter.webconfig import WebConfigWatcher, load_web_config
from tests.unit.deploy.test_deploy_manifests import (
    KUBERNETES_VERSIONS,
    MANIFESTS,
    all_objects,
    crd_errors,
    kustomization,
    run_kubernetes_validate,
)

ROOT = Path(__file__).resolve().parents[3]
SECURE = ROOT / "monitoring" / "kubernetes-secure"
CONTAINER_DOC = ROOT / "docs" / "container.md"
MONITORING_README = ROOT / "monitoring" / "README.md"
EXAMPLES = ROOT / "docs" / "examples" / "web"
WEB_SECRET = "skyserve-exporter-web"
SCRAPE_SECRET = "skyserve-exporter-scrape"


# -- rendering -----------------------------------------------------------------------------------


class PatchTestFailed(AssertionError):
    pass


def overlay() -> dict[str, Any]:
    (found,) = [d for d in yaml.safe_load_all((SECURE / "kustomization.yaml").read_text()) if d]
    result: dict[str, Any] = found
    return result


def pointer(path: str) -> list[str]:
    assert path.startswith("/"), path
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def json6902(document: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902 add, replace, remove and test: what the overlay's patches use."""
    document = copy.deepcopy(document)
    for op in operations:
        *parents, last = pointer(op["path"])
        node = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        kind = op["op"]
        if kind == "test":
            current = node[int(last)] if isinstance(node, list) else node[last]
            if current != op["value"]:
                raise PatchTestFailed(f"{op['path']}: {current!r} != {op['value']!r}")
        elif kind == "add" and isinstance(node, list):
            node.insert(len(node) if last == "-" else int(last), copy.deepcopy(op["value"]))
        elif kind in ("add", "replace"):
            if kind == "replace":
                assert (int(last) < len(node)) if isinstance(node, list) else (last in node), op["path"]
            node[int(last) if isinstance(node, list) else last] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del node[int(last) if isinstance(node, list) else last]
        else:
            raise AssertionError(f"unsupported op {kind}")
    return document


def targets(obj: dict[str, Any], target: dict[str, str]) -> bool:
    group, _, version = obj["apiVersion"].rpartition("/")
    wanted = {"group": group, "version": version, "kind": obj["kind"], "name": obj["metadata"]["name"]}
    return all(wanted[key] == value for key, value in target.items())


def render(base: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    objects = copy.deepcopy(all_objects() if base is None else base)
    for patch in overlay()["patches"]:
        operations = yaml.safe_load((SECURE / patch["path"]).read_text())
        matched = [i for i, obj in enumerate(objects) if targets(obj, patch["target"])]
        assert len(matched) == 1, f"{patch['path']} targets {len(matched)} objects"
        objects[matched[0]] = json6902(objects[matched[0]], operations)
    return objects


def one(kind: str, objects: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    (found,) = [obj for obj in (render() if objects is None else objects) if obj["kind"] == kind]
    return found


def container(objects: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    (result,) = one("Deployment", objects)["spec"]["template"]["spec"]["containers"]
    found: dict[str, Any] = result
    return found


def test_the_overlay_is_the_base_plus_patches() -> None:
    # The Python rendering above only knows resources and JSON 6902 patches: anything else in the
    # kustomization would be left out of what these tests check.
    spec = overlay()
    assert set(spec) == {"apiVersion", "kind", "resources", "patches"}
    assert spec["kind"] == "Kustomization"
    (base,) = spec["resources"]
    assert (SECURE / base).resolve() == MANIFESTS.resolve()
    patched = {patch["path"] for patch in spec["patches"]}
    present = {p.name for p in SECURE.iterdir()} - {"kustomization.yaml"}
    assert patched == present == {"deployment-patch.yaml", "servicemonitor-patch.yaml"}
    assert set(patch for patch in spec["patches"] if set(patch) != {"path", "target"}) == set()


@pytest.mark.parametrize("name", ["deployment-patch.yaml", "servicemonitor-patch.yaml"])
def test_each_patch_first_tests_what_it_patches(name: str) -> None:
    operations = yaml.safe_load((SECURE / name).read_text())
    assert operations[0]["op"] == "test"
    assert {op["op"] for op in operations} <= {"test", "add", "replace"}


def test_a_base_that_moved_the_container_fails_the_render() -> None:
    # The control for the `test` operations: a base whose first container is another one.
    base = copy.deepcopy(all_objects())
    deployment = next(obj for obj in base if obj["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["name"] = "sidecar"
    with pytest.raises(PatchTestFailed):
        render(base)


def test_kubectl_kustomize_renders_the_same() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the Python rendering alone is checked")
    result = subprocess.run(
        [kubectl, "kustomize", str(SECURE)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    theirs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    ours = render()
    assert sorted((o["kind"], o["metadata"]["name"]) for o in theirs) == sorted(
        (o["kind"], o["metadata"]["name"]) for o in ours
    )
    # kustomize also applies the base's namespace and image settings, which the base's tests cover.
    namespace = kustomization()["namespace"]
    for obj in theirs:
        mine = next(
            o for o in ours if (o["kind"], o["metadata"]["name"]) == (obj["kind"], obj["metadata"]["name"])
        )
        if obj["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert obj["metadata"].pop("namespace") == namespace
            mine["metadata"].pop("namespace", None)
        assert obj == mine, obj["kind"]


# -- schemas -------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS, ids=lambda v: v or "latest")
def test_rendered_core_kinds_pass_kubernetes_validate_strict(tmp_path: Path, version: str | None) -> None:
    core = [obj for obj in render() if obj["apiVersion"] != "monitoring.coreos.com/v1"]
    path = tmp_path / "secure.yaml"
    path.write_text(yaml.safe_dump_all(core), encoding="utf-8")
    result = run_kubernetes_validate([path], version)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARN" not in result.stdout + result.stderr
    assert "resource deployment/skyserve-exporter" in result.stdout + result.stderr


def test_rendered_service_monitor_matches_the_crd_schema() -> None:
    assert crd_errors(one("ServiceMonitor")) == []


def test_the_crd_schema_catches_a_misspelt_tls_key() -> None:
    monitor = copy.deepcopy(one("ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["tlsConfig"]["server_name"] = "x"
    monitor["spec"]["endpoints"][0]["scheme"] = "HTTPS "
    errors = crd_errors(monitor)
    assert any("server_name" in e for e in errors), errors
    assert any(e.startswith("spec/endpoints/0/scheme") for e in errors), errors


# -- the Deployment ------------------------------------------------------------------------------


def mounts(objects: list[dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    pod = one("Deployment", objects)["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    return {m["mountPath"]: {**volumes[m["name"]], "mount": m} for m in container(objects)["volumeMounts"]}


def web_config_path() -> str:
    (arg,) = [str(a) for a in container()["args"] if a.startswith("--web.config.file")]
    path = arg.removeprefix("--web.config.file=")
    assert path != arg and path.startswith("/"), arg
    return path


def web_secret_volume() -> tuple[str, dict[str, Any]]:
    (found,) = [
        (path, v) for path, v in mounts().items() if v.get("secret", {}).get("secretName") == WEB_SECRET
    ]
    return found


def test_the_web_config_flag_names_a_file_in_the_mounted_secret() -> None:
    directory, _, filename = web_config_path().rpartition("/")
    mount_path, volume = web_secret_volume()
    assert mount_path == directory
    assert filename in [item["path"] for item in volume["secret"]["items"]]
    assert volume["mount"]["readOnly"] is True
    # A subPath mount is never updated: the exporter could not pick up a rotated certificate.
    assert "subPath" not in volume["mount"] and "subPathExpr" not in volume["mount"]


def test_the_secret_is_not_mounted_inside_another_volume() -> None:
    mount_path, _ = web_secret_volume()
    others = [path for path in mounts() if path != mount_path]
    for other in others:
        assert not mount_path.startswith(other.rstrip("/") + "/"), other
        assert not other.startswith(mount_path.rstrip("/") + "/"), other


def test_the_secret_is_readable_by_the_exporter_and_nobody_else() -> None:
    _, volume = web_secret_volume()
    pod = one("Deployment")["spec"]["template"]["spec"]
    assert volume["secret"]["defaultMode"] == 0o440
    # Group-readable works because the kubelet gives the files the pod's fsGroup, the exporter's group.
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]


def test_the_files_the_web_config_names_are_the_secret_keys() -> None:
    web_config = documented_web_config("$2b$10$" + "a" * 53)
    _, volume = web_secret_volume()
    items = {item["key"]: item["path"] for item in volume["secret"]["items"]}
    # Each key is mounted under its own name, as `kubectl create secret --from-file` names them.
    assert all(key == path for key, path in items.items())
    named = {web_config["tls_server_config"]["cert_file"], web_config["tls_server_config"]["key_file"]}
    assert set(items) == named | {web_config_path().rpartition("/")[2]}


def test_only_the_documented_parts_of_the_deployment_change() -> None:
    base, secure = container(all_objects()), copy.deepcopy(container())
    assert secure["args"][: len(base["args"])] == base["args"]
    assert secure["args"][len(base["args"]) :] == [f"--web.config.file={web_config_path()}"]
    assert secure["volumeMounts"][: len(base["volumeMounts"])] == base["volumeMounts"]
    for key in ("args", "volumeMounts", "livenessProbe", "readinessProbe"):
        secure.pop(key)
    base = copy.deepcopy(base)
    for key in ("args", "volumeMounts", "livenessProbe", "readinessProbe"):
        base.pop(key)
    assert secure == base  # image, ports, resources, security context as in the base
    base_pod = copy.deepcopy(one("Deployment", all_objects())["spec"]["template"]["spec"])
    secure_pod = copy.deepcopy(one("Deployment")["spec"]["template"]["spec"])
    assert secure_pod["volumes"][: len(base_pod["volumes"])] == base_pod["volumes"]
    for pod in (base_pod, secure_pod):
        pod.pop("containers")
        pod.pop("volumes")
    assert secure_pod == base_pod


def test_no_probe_needs_credentials() -> None:
    # Basic auth covers /-/healthy and /-/ready: an httpGet probe would get 401 and fail.
    c = container()
    probes = [c["livenessProbe"], c["readinessProbe"]]
    assert not [p for p in probes if "httpGet" in p]
    assert not [p for p in probes if "Authorization" in str(p)]


def test_liveness_runs_the_images_healthcheck_on_the_metrics_port() -> None:
    c = container()
    command = c["livenessProbe"]["exec"]["command"]
    python, flag, module, port = command
    assert (flag, module) == ("-m", "exporter.healthcheck")
    (metrics,) = [p for p in c["ports"] if p["name"] == "metrics"]
    assert int(port) == metrics["containerPort"]
    assert c["args"].count(f"--web.listen-address=:{port}") == 1
    # The image's virtualenv, where the exporter is installed (Dockerfile: COPY /opt/venv).
    assert python == "/opt/venv/bin/python"
    assert "COPY --from=build /opt/venv /opt/venv" in (ROOT / "Dockerfile").read_text()
    # The check tries plain HTTP, then TLS, each with its own timeout: both must fit in the probe's.
    assert c["livenessProbe"]["timeoutSeconds"] >= 2 * healthcheck._TIMEOUT_SECONDS


def test_readiness_checks_the_port_without_credentials() -> None:
    probe = container()["readinessProbe"]
    assert probe["tcpSocket"]["port"] == "metrics"
    assert set(probe) == {"tcpSocket", "periodSeconds", "timeoutSeconds", "failureThreshold"}
    # The reason is written beside the probe, for whoever wonders why it is not /-/ready.
    assert "cannot read /-/ready without credentials" in (SECURE / "deployment-patch.yaml").read_text()


def test_the_liveness_command_is_the_one_the_image_runs() -> None:
    dockerfile = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    (healthcheck_line,) = [line for line in dockerfile.splitlines() if line.startswith("HEALTHCHECK")]
    command = container()["livenessProbe"]["exec"]["command"]
    assert ", ".join(f'"{part}"' for part in command[1:]) in healthcheck_line


# -- the ServiceMonitor --------------------------------------------------------------------------


def endpoint() -> dict[str, Any]:
    (found,) = one("ServiceMonitor")["spec"]["endpoints"]
    result: dict[str, Any] = found
    return result


def test_the_service_monitor_scrapes_https_with_the_scrape_secret() -> None:
    ep = endpoint()
    assert ep["port"] == "metrics"
    assert ep["scheme"] == "https"
    assert ep["tlsConfig"]["ca"] == {"secret": {"name": SCRAPE_SECRET, "key": "ca.crt"}}
    assert "insecureSkipVerify" not in ep["tlsConfig"]
    assert ep["basicAuth"] == {
        "username": {"name": SCRAPE_SECRET, "key": "username"},
        "password": {"name": SCRAPE_SECRET, "key": "password"},
    }


def test_server_name_is_the_services_dns_name() -> None:
    service = one("Service")
    assert (
        endpoint()["tlsConfig"]["serverName"]
        == f"{service['metadata']['name']}.{kustomization()['namespace']}.svc"
    )


def test_the_rest_of_the_service_monitor_is_the_base() -> None:
    base = copy.deepcopy(one("ServiceMonitor", all_objects()))
    secure = copy.deepcopy(one("ServiceMonitor"))
    for key in ("scheme", "tlsConfig", "basicAuth"):
        assert key not in base["spec"]["endpoints"][0]
        secure["spec"]["endpoints"][0].pop(key)
    assert secure == base


# -- what docs/container.md tells you to run --------------------------------------------------------


def kubernetes_steps() -> str:
    text = CONTAINER_DOC.read_text(encoding="utf-8")
    section = text[text.index("### TLS and basic auth on Kubernetes") :]
    section = section[: section.index("\n## ")]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    return str(block)


def commands() -> list[list[str]]:
    joined = kubernetes_steps().replace("\\\n", " ")
    return [
        shlex.split(line)
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def created_secret_keys(name: str) -> set[str]:
    (argv,) = [a for a in commands() if a[:1] == ["kubectl"] and "secret" in a and name in a]
    assert argv[argv.index("create") :][:4] == ["create", "secret", "generic", name]
    assert argv[argv.index("-n") + 1] == kustomization()["namespace"]
    keys = set()
    for arg in argv:
        for flag in ("--from-file=", "--from-literal="):
            if arg.startswith(flag):
                value = arg.removeprefix(flag)
                if flag == "--from-file=" and "=" not in value:
                    keys.add(Path(value).name)
                else:
                    keys.add(value.partition("=")[0])
    return keys


def test_the_documented_web_secret_has_the_mounted_keys() -> None:
    _, volume = web_secret_volume()
    assert created_secret_keys(WEB_SECRET) == {item["key"] for item in volume["secret"]["items"]}


def test_the_documented_scrape_secret_has_the_keys_the_service_monitor_reads() -> None:
    ep = endpoint()
    refs = [ep["tlsConfig"]["ca"]["secret"], ep["basicAuth"]["username"], ep["basicAuth"]["password"]]
    assert {ref["name"] for ref in refs} == {SCRAPE_SECRET}
    assert created_secret_keys(SCRAPE_SECRET) == {ref["key"] for ref in refs}


def test_the_documented_certificate_has_the_server_name() -> None:
    (openssl,) = [a for a in commands() if a[:2] == ["openssl", "req"]]
    (san,) = [a for a in openssl if a.startswith("subjectAltName=")]
    assert f"DNS:{endpoint()['tlsConfig']['serverName']}" in san.removeprefix("subjectAltName=").split(",")
    # The files it writes are the ones the Secrets are made from.
    assert openssl[openssl.index("-keyout") + 1] == "tls.key"
    assert openssl[openssl.index("-out") + 1] == "tls.crt"


def test_the_documented_python_hash_command_makes_a_hash_of_the_password() -> None:
    (line,) = [line for line in kubernetes_steps().splitlines() if "import bcrypt" in line]
    match = re.fullmatch(r"# HASH=\$\((.*)\)", line.strip())
    assert match is not None, line
    argv = [sys.executable if a == "python3" else a for a in shlex.split(match.group(1))]
    assert argv[-1] == "$PASSWORD"
    argv[-1] = "s3cret pass/+="
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    hashed = result.stdout.strip()
    assert hashed.startswith("$2b$10$")
    assert bcrypt.checkpw(b"s3cret pass/+=", hashed.encode())


def test_the_htpasswd_command_strips_the_colon_and_newline() -> None:
    (line,) = [line for line in kubernetes_steps().splitlines() if "htpasswd" in line and "#" not in line]
    assert 'htpasswd -nbBC 10 "" "$PASSWORD" | tr -d' in line
    assert line.endswith("tr -d ':\\n')")


def documented_web_config(hashed: str) -> dict[str, Any]:
    match = re.search(r"cat > web-config\.yml <<EOF\n(.*?)\nEOF\n", kubernetes_steps(), re.DOTALL)
    assert match is not None
    text = match.group(1)
    assert text.count("$HASH") == 1
    loaded: dict[str, Any] = yaml.safe_load(text.replace("$HASH", hashed))
    return loaded


def mounted_secret(directory: Path, hashed: str) -> Path:
    """The Secret as the pod sees it: its keys as files in one directory; the web config's path."""
    files = {"tls.crt": EXAMPLES / "example-server.pem", "tls.key": EXAMPLES / "example-server.key"}
    _, volume = web_secret_volume()
    for item in volume["secret"]["items"]:
        if item["key"] != "web-config.yml":
            shutil.copy(files[item["key"]], directory / item["path"])
    path = directory / web_config_path().rpartition("/")[2]
    path.write_text(yaml.safe_dump(documented_web_config(hashed)), encoding="utf-8")
    return path


def test_the_documented_web_config_loads_from_the_mounted_secret(tmp_path: Path) -> None:
    hashed = bcrypt.hashpw(b"the password", bcrypt.gensalt(4)).decode()
    path = mounted_secret(tmp_path, hashed)
    loaded = load_web_config(path)
    assert loaded.tls and loaded.notes == ()
    assert dict(loaded.basic_auth_users) == {"prometheus": hashed}
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: scripts/test.sh installs Debian's prometheus package"
    result = subprocess.run(
        [promtool, "check", "web-config", path.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    context = loaded.ssl_context()
    assert context is not None and context.verify_mode == ssl.CERT_NONE  # basic auth, no client certs


def answer_ok(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]


def probe_command(port: int) -> list[str]:
    """The liveness command, run by this Python (with this checkout on its path) against port."""
    python, *args, _ = container()["livenessProbe"]["exec"]["command"]
    assert python.endswith("/python")
    return [sys.executable, *args, str(port)]


def run_probe(port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        probe_command(port), capture_output=True, text=True, timeout=30, check=False, env=env
    )


def test_the_probes_pass_against_the_documented_web_config(tmp_path: Path) -> None:
    """Both probes, against the exporter's server with TLS and basic auth on, without credentials."""
    hashed = bcrypt.hashpw(b"the password", bcrypt.gensalt(4)).decode()
    log = logging.getLogger("test")
    server = HTTPServer(
        answer_ok, "127.0.0.1:0", log, web=WebConfigWatcher(mounted_secret(tmp_path, hashed), log)
    )
    port = server.port
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        # readiness (tcpSocket): the port accepts connections
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        # The server does refuse a request without the password: the probe passes on a 401.
        context = ssl.create_default_context(cafile=str(EXAMPLES / "example-ca.pem"))
        conn = http.client.HTTPSConnection("localhost", port, timeout=5, context=context)
        conn.request("GET", "/-/healthy")
        assert conn.getresponse().status == 401
        conn.close()
        result = run_probe(port)
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        server.stop()
        thread.join(10)
    # The control: nothing answers any more, and the probe fails.
    assert run_probe(port).returncode == 1


def test_the_username_in_the_web_config_is_the_one_prometheus_sends() -> None:
    (argv,) = [a for a in commands() if SCRAPE_SECRET in a]
    (username,) = [
        a.removeprefix("--from-literal=username=") for a in argv if a.startswith("--from-literal=username=")
    ]
    assert set(documented_web_config("$2b$10$" + "a" * 53)["basic_auth_users"]) == {username}


# -- the ServiceMonitor endpoints of monitoring/README.md ---------------------------------------------


def readme_endpoints() -> list[list[dict[str, Any]]]:
    text = MONITORING_README.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    return [yaml.safe_load(block)["endpoints"] for block in blocks if block.startswith("endpoints:")]


def test_monitoring_readme_shows_the_overlays_endpoint_and_a_client_certificate_one() -> None:
    basic_auth, client_cert = readme_endpoints()
    assert basic_auth == one("ServiceMonitor")["spec"]["endpoints"]
    (ep,) = client_cert
    assert set(ep["tlsConfig"]) == {"ca", "cert", "keySecret", "serverName"}
    assert "basicAuth" not in ep


@pytest.mark.parametrize("index", [0, 1], ids=["basic-auth", "client-certificate"])
def test_monitoring_readme_endpoints_match_the_crd_schema(index: int) -> None:
    monitor = copy.deepcopy(one("ServiceMonitor"))
    monitor["spec"]["endpoints"] = readme_endpoints()[index]
    assert crd_errors(monitor) == []

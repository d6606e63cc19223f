"""The TLS and basic auth option of the monitoring bundle: compose's `secure` profile, its Prometheus
config (prometheus/prometheus-secure.yml), and the scrape jobs and web configs of monitoring/README.md.

promtool checks every Prometheus config and web config here, the way Prometheus and the exporter
would see them; the secure profile's two sides are checked against each other: the CA and server
name Prometheus uses verify the certificate the exporter serves, and its password matches the hash.
"""

import re
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from exporter.webconfig import WebConfig, load_web_config

REPO = Path(__file__).resolve().parents[3]
MONITORING = REPO / "monitoring"
PROMETHEUS = MONITORING / "prometheus"
COMPOSE = MONITORING / "docker-compose.yml"
EXAMPLES = REPO / "docs" / "examples" / "web"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
JOB = "skyserve-exporter"
SECURE_KEYS = ("scheme", "tls_config", "basic_auth")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def services() -> dict[str, Any]:
    found: dict[str, Any] = load_yaml(COMPOSE)["services"]
    return found


def job(config: dict[str, Any]) -> dict[str, Any]:
    (found,) = [j for j in config["scrape_configs"] if j["job_name"] == JOB]
    result: dict[str, Any] = found
    return result


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary is not None, "promtool is missing: scripts/test.sh installs Debian's prometheus package"
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR:-default} and ${VAR}."""

    def one(match: re.Match[str]) -> str:
        name, _, default = match.group(1).partition(":-")
        return env.get(name) or default

    return re.sub(r"\$\{([^}]*)\}", one, value)


def container_layout(service: str, root: Path) -> Path:
    """The service's bind mounts laid out under root as the container sees them (links to the repo)."""
    for volume in services()[service]["volumes"]:
        source, target = volume.split(":")[:2]
        if not source.startswith("."):
            continue  # a named volume
        host = (MONITORING / source).resolve()
        assert host.exists(), volume
        place = root / target.lstrip("/")
        place.parent.mkdir(parents=True, exist_ok=True)
        place.symlink_to(host, target_is_directory=host.is_dir())
    return root


def config_file_argument(env: dict[str, str]) -> str:
    (arg,) = [a for a in services()["prometheus"]["command"] if a.startswith("--config.file=")]
    return interpolate(arg.removeprefix("--config.file="), env)


# -- prometheus-secure.yml -------------------------------------------------------------------------


def test_the_secure_config_differs_from_prometheus_yml_only_in_the_exporters_transport() -> None:
    plain, secure = load_yaml(PROMETHEUS / "prometheus.yml"), load_yaml(PROMETHEUS / "prometheus-secure.yml")
    assert not set(SECURE_KEYS) & set(job(plain))
    assert set(SECURE_KEYS) <= set(job(secure))
    for key in SECURE_KEYS:
        job(secure).pop(key)
    assert secure == plain  # the same rules, Alertmanager, intervals, targets and other jobs


def test_the_secure_job_verifies_the_certificate() -> None:
    tls = job(load_yaml(PROMETHEUS / "prometheus-secure.yml"))
    assert tls["scheme"] == "https"
    assert tls["tls_config"].get("insecure_skip_verify", False) is False
    assert tls["tls_config"]["ca_file"]


def test_compose_selects_either_config_and_mounts_both() -> None:
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in services()["prometheus"]["volumes"]}
    default = config_file_argument({})
    secure = config_file_argument({"PROMETHEUS_CONFIG": "prometheus-secure.yml"})
    assert (MONITORING / mounted[default]).resolve() == PROMETHEUS / "prometheus.yml"
    assert (MONITORING / mounted[secure]).resolve() == PROMETHEUS / "prometheus-secure.yml"


@pytest.mark.parametrize("env", [{}, {"PROMETHEUS_CONFIG": "prometheus-secure.yml"}], ids=["plain", "secure"])
def test_promtool_checks_the_config_as_the_prometheus_container_sees_it(
    tmp_path: Path, env: dict[str, str]
) -> None:
    # Relative paths in the config (rules/, web/example-ca.pem) are resolved from its directory,
    # so the check runs on the compose mounts laid out as in the container.
    root = container_layout("prometheus", tmp_path)
    config = root / config_file_argument(env).lstrip("/")
    result = promtool("check", "config", config.name, cwd=config.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(RULE_FILES)} rule files found" in result.stdout + result.stderr
    tls_config = job(load_yaml(config)).get("tls_config", {})
    for key in ("ca_file", "cert_file", "key_file"):
        if key in tls_config:
            assert (config.parent / tls_config[key]).is_file(), f"{key}: {tls_config[key]}"


# -- the secure profile's exporter -------------------------------------------------------------------


def secure_exporter() -> dict[str, Any]:
    found: dict[str, Any] = services()["exporter-secure"]
    return found


def secure_web_config(root: Path) -> tuple[Path, WebConfig]:
    (arg,) = [a for a in secure_exporter()["command"] if a.startswith("--web.config.file=")]
    path = container_layout("exporter-secure", root) / arg.removeprefix("--web.config.file=").lstrip("/")
    return path, load_web_config(path)


def test_the_secure_profile_runs_the_demo_exporter_as_exporter() -> None:
    exporter = secure_exporter()
    assert exporter["profiles"] == ["secure"]
    assert "--demo" in exporter["command"]
    assert "exporter" in exporter["networks"]["default"]["aliases"]
    assert exporter["build"] == services()["exporter-demo"]["build"]
    assert all(volume.endswith(":ro") for volume in exporter["volumes"])
    # Only one exporter profile at a time answers to `exporter`.
    for name, service in services().items():
        if (
            "exporter" in service.get("networks", {}).get("default", {}).get("aliases", [])
            and name != "exporter-secure"
        ):
            assert not set(service["profiles"]) & set(exporter["profiles"]), name


def test_the_secure_exporter_serves_tls_with_basic_auth(tmp_path: Path) -> None:
    path, config = secure_web_config(tmp_path)
    assert config.tls and config.basic_auth_users
    result = promtool("check", "web-config", path.name, cwd=path.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    port = [a for a in secure_exporter()["command"] if a.startswith("--web.listen-address=")]
    assert port == ["--web.listen-address=:9091"]
    (target,) = job(load_yaml(PROMETHEUS / "prometheus-secure.yml"))["static_configs"][0]["targets"]
    assert target == "exporter:9091"


def handshake(server: ssl.SSLContext, client: ssl.SSLContext, server_name: str) -> ssl.SSLObject:
    """A TLS handshake in memory; raises what the client's verification raises."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_in, server_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    client_side = client.wrap_bio(to_client, to_server, server_hostname=server_name)
    server_side = server.wrap_bio(server_in, server_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, side in (("client", client_side), ("server", server_side)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        server_in.write(to_server.read())
        to_client.write(server_out.read())
        if all(done.values()):
            return client_side
    raise AssertionError("the handshake did not finish")


def test_prometheus_secure_job_verifies_the_secure_exporters_certificate(tmp_path: Path) -> None:
    _, web = secure_web_config(tmp_path / "exporter")
    server = web.ssl_context()
    assert server is not None
    prometheus = container_layout("prometheus", tmp_path / "prometheus") / "etc" / "prometheus"
    tls_config = job(load_yaml(prometheus / "prometheus-secure.yml"))["tls_config"]
    client = ssl.create_default_context(cafile=str(prometheus / tls_config["ca_file"]))
    assert handshake(server, client, tls_config["server_name"]).version() in ("TLSv1.2", "TLSv1.3")
    # The control: without server_name Prometheus would check the target's host, which the example
    # certificate does not name.
    fresh = web.ssl_context()
    assert fresh is not None
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(fresh, client, "exporter")


def test_prometheus_secure_job_sends_the_password_the_exporter_expects(tmp_path: Path) -> None:
    _, web = secure_web_config(tmp_path)
    auth = job(load_yaml(PROMETHEUS / "prometheus-secure.yml"))["basic_auth"]
    hashed = web.basic_auth_users[auth["username"]]
    assert bcrypt.checkpw(auth["password"].encode(), hashed.encode())


# -- monitoring/README.md ------------------------------------------------------------------------------


def readme_blocks() -> list[str]:
    text = (MONITORING / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### TLS, basic auth and client certificates") :]
    section = section[: section.index("\n### ", 1)]
    return re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)


def readme_scrape_configs() -> list[str]:
    return [block for block in readme_blocks() if block.startswith("scrape_configs:")]


def readme_web_configs() -> list[str]:
    return [block for block in readme_blocks() if block.startswith("tls_server_config:")]


def test_the_readme_shows_both_kinds_of_each() -> None:
    jobs = [job(yaml.safe_load(block)) for block in readme_scrape_configs()]
    assert [("basic_auth" in j, "cert_file" in j["tls_config"]) for j in jobs] == [
        (True, False),
        (False, True),
    ]
    webs = [yaml.safe_load(block) for block in readme_web_configs()]
    assert [("basic_auth_users" in w, "client_ca_file" in w["tls_server_config"]) for w in webs] == [
        (True, False),
        (False, True),
    ]


@pytest.mark.parametrize("index", [0, 1], ids=["basic-auth", "client-certificate"])
def test_promtool_checks_the_readmes_scrape_job(tmp_path: Path, index: int) -> None:
    block = readme_scrape_configs()[index]
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    text = block.replace("/etc/prometheus/skyserve-exporter/", f"{secrets}/")
    assert text != block
    for name, example in {
        "ca.crt": "example-ca.pem",
        "client.crt": "example-client.pem",
        "client.key": "example-client.key",
    }.items():
        shutil.copy(EXAMPLES / example, secrets / name)
    (secrets / "password").write_text("example-password", encoding="utf-8")
    (tmp_path / "prometheus.yml").write_text(text, encoding="utf-8")
    result = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    scrape = job(yaml.safe_load(text))
    assert scrape["scheme"] == "https"
    assert scrape["tls_config"]["ca_file"].startswith(str(secrets))
    # As prometheus.yml: the alerts and dashboards read this job name, at the same interval.
    assert (scrape["scrape_interval"], scrape["scrape_timeout"]) == ("30s", "10s")


@pytest.mark.parametrize("index", [0, 1], ids=["basic-auth", "client-certificate"])
def test_the_readmes_web_config_passes_promtool_and_the_exporter(tmp_path: Path, index: int) -> None:
    hashed = bcrypt.hashpw(b"a password", bcrypt.gensalt(4)).decode()
    block = readme_web_configs()[index]
    assert block.count("<bcrypt hash>") == (1 if "basic_auth_users" in block else 0)
    path = tmp_path / "web-config.yml"
    path.write_text(block.replace("<bcrypt hash>", hashed), encoding="utf-8")
    for name, example in {
        "tls.crt": "example-server.pem",
        "tls.key": "example-server.key",
        "client-ca.crt": "example-ca.pem",
    }.items():
        shutil.copy(EXAMPLES / example, tmp_path / name)
    result = promtool("check", "web-config", path.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    loaded = load_web_config(path)
    context = loaded.ssl_context()
    assert context is not None
    if index == 1:
        assert context.verify_mode == ssl.CERT_REQUIRED and not loaded.basic_auth_users
    else:
        assert context.verify_mode == ssl.CERT_NONE and dict(loaded.basic_auth_users) == {
            "prometheus": hashed
        }

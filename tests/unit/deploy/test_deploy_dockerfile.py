"""The Dockerfile: hadolint-clean, and the contract the docs, compose file and manifests rely on.

The image itself is built and run in tests/integration/test_container_image.py.
"""

import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).with_name("hadolint")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            found.append((keyword.upper(), " ".join(rest.split())))
    return found


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def only(stage: list[tuple[str, str]], keyword: str) -> str:
    values = [rest for kw, rest in stage if kw == keyword]
    assert len(values) == 1, f"expected one {keyword} in the final stage, found {values}"
    return values[0]


def test_hadolint_reports_nothing() -> None:
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(DOCKERFILE)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_both_stages_use_the_same_python_slim_base() -> None:
    # The venv built in the first stage links to the base image's interpreter.
    bases = [rest.split()[0] for keyword, rest in instructions() if keyword == "FROM"]
    assert bases == ["python:3.12-slim", "python:3.12-slim"]


def test_final_stage_holds_only_the_virtualenv_and_the_default_config() -> None:
    copies = [rest for keyword, rest in final_stage() if keyword == "COPY"]
    assert copies == [
        "--from=build /opt/venv /opt/venv",
        "--from=build /etc/skyserve-exporter/config.yml /etc/skyserve-exporter/config.yml",
    ]
    assert not [rest for keyword, rest in final_stage() if keyword == "ADD"]


def test_runs_as_a_numeric_non_root_user() -> None:
    # Numeric, so that Kubernetes' runAsNonRoot can verify it without an /etc/passwd lookup.
    user = only(final_stage(), "USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0, user
    assert gid.isdigit() and int(gid) > 0, user
    deployment = (ROOT / "monitoring" / "kubernetes" / "deployment.yaml").read_text(encoding="utf-8")
    assert f"runAsUser: {uid}" in deployment and f"runAsGroup: {gid}" in deployment


def test_port_healthcheck_stop_signal_and_entrypoint() -> None:
    stage = final_stage()
    assert only(stage, "EXPOSE") == "9091"
    assert only(stage, "STOPSIGNAL") == "SIGTERM"
    healthcheck = only(stage, "HEALTHCHECK")
    # The check speaks plain HTTP or TLS and counts a 401 as alive (tests/unit/framework/test_healthcheck.py).
    assert '"-m", "exporter.healthcheck", "9091"' in healthcheck
    assert json.loads(only(stage, "ENTRYPOINT")) == ["skyserve-exporter"]
    assert json.loads(only(stage, "CMD")) == ["--config", "/etc/skyserve-exporter/config.yml"]


@pytest.mark.parametrize(
    "needed",
    ["pyproject.toml", "README.md", "exporter/cli.py", "collectors/__init__.py", "simulator/__init__.py"],
)
def test_dockerignore_lets_the_sources_in(needed: str) -> None:
    assert (ROOT / needed).exists()
    assert not ignored(needed), f".dockerignore keeps {needed} out of the build context"


@pytest.mark.parametrize("unwanted", [".venv/bin/python", "tests/unit/deploy/x.py", ".git/HEAD"])
def test_dockerignore_keeps_the_rest_out(unwanted: str) -> None:
    assert ignored(unwanted)


def ignored(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes; a directory covers its files."""
    verdict = False
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/").removeprefix("**/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        names = parts if line.lstrip("!").startswith("**/") else []
        if any(fnmatch.fnmatchcase(p, pattern) for p in prefixes + names):
            verdict = not negate
    return verdict

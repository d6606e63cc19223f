"""monitoring/kubernetes/prometheusrule.yaml carries exactly the groups of monitoring/prometheus/rules/."""

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "monitoring" / "prometheus" / "rules"
MANIFEST = ROOT / "monitoring" / "kubernetes" / "prometheusrule.yaml"
SCRIPT = ROOT / "scripts" / "render_prometheusrule.py"


def render(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], check=False, capture_output=True, text=True, timeout=60
    )


def groups_of_the_rule_files() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for path in sorted(RULES.glob("*.yml")):
        groups.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["groups"])
    return groups


def test_the_checked_in_manifest_is_what_the_generator_writes_now() -> None:
    result = render("--check")
    assert result.returncode == 0, (
        "monitoring/kubernetes/prometheusrule.yaml is stale: run "
        f"`python scripts/render_prometheusrule.py`\n{result.stdout}{result.stderr}"
    )


def test_the_manifest_holds_exactly_the_rule_files_groups() -> None:
    # Independent of the generator: the same groups, rules, expressions, labels and annotations.
    rule = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"]["groups"] == groups_of_the_rule_files()
    assert rule["spec"]["groups"], "no rule files found"


def test_a_changed_rule_file_makes_the_check_fail(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    output = tmp_path / "prometheusrule.yaml"
    assert render("--rules-dir", str(rules), "--output", str(output)).returncode == 0
    assert render("--rules-dir", str(rules), "--output", str(output), "--check").returncode == 0
    first = sorted(rules.glob("*.yml"))[0]
    first.write_text(
        first.read_text(encoding="utf-8").replace("groups:", "groups:\n  - {name: x, rules: []}", 1)
    )
    stale = render("--rules-dir", str(rules), "--output", str(output), "--check")
    assert stale.returncode == 1
    assert "out of date" in stale.stderr


def test_duplicate_group_names_across_files_are_refused(tmp_path: Path) -> None:
    # Prometheus loads each file on its own; one PrometheusRule holds them all, where names must differ.
    rules = tmp_path / "rules"
    rules.mkdir()
    for name in ("a.yml", "b.yml"):
        (rules / name).write_text("groups:\n  - name: same\n    rules: []\n", encoding="utf-8")
    result = render("--rules-dir", str(rules), "--output", str(tmp_path / "out.yaml"))
    assert result.returncode != 0
    assert "same" in result.stderr

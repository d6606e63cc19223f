"""The shipped Prometheus and Alertmanager configs, checked by the real tools: promtool and amtool."""

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.integration.harness import require_binary

pytestmark = pytest.mark.integration

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
PROMETHEUS = MONITORING / "prometheus"
ALERTMANAGER_CONFIG = MONITORING / "alertmanager" / "alertmanager.yml"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def succeeds(*argv: str) -> str:
    result = run(*argv)
    assert result.returncode == 0, (
        f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    )
    return result.stdout + result.stderr


def test_promtool_checks_the_prometheus_config_and_its_rule_files() -> None:
    out = succeeds(require_binary("promtool"), "check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert f"{len(RULE_FILES)} rule files found" in out


def test_promtool_checks_the_rules() -> None:
    assert len(RULE_FILES) >= 3
    succeeds(require_binary("promtool"), "check", "rules", *map(str, RULE_FILES))


def test_promtool_rule_unit_tests_pass() -> None:
    assert RULE_TESTS
    out = succeeds(require_binary("promtool"), "test", "rules", *map(str, RULE_TESTS))
    assert out.count("SUCCESS") == len(RULE_TESTS)


def test_promtool_unit_tests_catch_a_broken_alert(tmp_path: Path) -> None:
    """The unit tests assert something: the same tests against a rule with a changed threshold fail."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    for path in RULE_FILES:
        text = path.read_text()
        if path.name == "skyserve-alerts.yml":
            assert text.count(") >= 3") == 1  # the preemption burst's threshold
            text = text.replace(") >= 3", ") >= 5")
        (tmp_path / "rules" / path.name).write_text(text)
    test_file = tmp_path / "tests" / "skyserve-alerts_test.yml"
    test_file.write_text((PROMETHEUS / "tests" / "skyserve-alerts_test.yml").read_text())
    result = run(require_binary("promtool"), "test", "rules", str(test_file))
    assert result.returncode != 0
    assert "SkyServeSpotPreemptionBurst" in result.stdout + result.stderr


def test_amtool_checks_the_alertmanager_config() -> None:
    out = succeeds(require_binary("amtool"), "check-config", str(ALERTMANAGER_CONFIG))
    assert "SUCCESS" in out


def test_alertmanager_routes_each_severity_to_its_receiver() -> None:
    severities = {
        rule["labels"]["severity"]
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    assert severities == {"critical", "warning", "info"}
    amtool = require_binary("amtool")
    for severity in sorted(severities):
        out = run(
            amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", f"severity={severity}"
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == severity
    unlabelled = run(
        amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", "alertname=X"
    )
    assert unlabelled.stdout.strip() == "default"

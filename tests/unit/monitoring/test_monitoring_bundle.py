"""The monitoring bundle's files, checked without running anything: dashboards, rules, compose.

The real components (promtool, amtool, a Prometheus fed by the exporter) are exercised by
tests/integration/test_monitoring_rules.py and test_monitoring_queries.py.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.metrics_doc import all_tables

REPO = Path(__file__).resolve().parents[3]
MONITORING = REPO / "monitoring"
PROMETHEUS = MONITORING / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
DASHBOARD_FILES = sorted((MONITORING / "grafana" / "dashboards").glob("*.json"))
COMPOSE = MONITORING / "docker-compose.yml"

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRAFANA_BUILTINS = {
    "__rate_interval",
    "__interval",
    "__interval_ms",
    "__range",
    "__range_s",
    "__range_ms",
    "__from",
    "__to",
    "__all",
}
REQUIRED_VARIABLES = {"datasource", "service", "cloud", "source"}
SEVERITIES = {"critical", "warning", "info"}
# Labels Prometheus attaches to every scraped series.
TARGET_LABELS = {"job", "instance"}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
SELECTOR = re.compile(r"(?<![\w:])([a-zA-Z_:][\w:]*)\{([^}]*)\}")
MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def dashboards() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, json.loads(path.read_text())) for path in DASHBOARD_FILES]


def rules() -> list[dict[str, Any]]:
    return [rule for path in RULE_FILES for group in load_yaml(path)["groups"] for rule in group["rules"]]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def records() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "record" in rule]


def variables_used(text: str) -> set[str]:
    return {next(group for group in match.groups() if group) for match in VARIABLE.finditer(text)}


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return []


def family_labels() -> dict[str, set[str]]:
    """Every series name the rules and dashboards may read, with its labels."""
    known: dict[str, set[str]] = {}
    for table in all_tables().values():
        for spec in table:
            known.setdefault(spec.name, set()).update(spec.labels)
    for rule in records():
        by = re.search(r"\bby\s*\(([^)]*)\)", rule["expr"])
        known[rule["record"]] = {label.strip() for label in by.group(1).split(",")} if by else set()
    known["up"] = set()
    return known


def all_queries() -> list[tuple[str, str]]:
    """(where, PromQL) for every rule expression, panel target and variable query."""
    found = [(f"rule {rule.get('alert') or rule['record']}", rule["expr"]) for rule in rules()]
    for name, board in dashboards():
        for panel in board["panels"]:
            found += [(f"{name} / {panel['title']}", target["expr"]) for target in panel.get("targets", [])]
        for var in board["templating"]["list"]:
            if var["type"] == "query":
                found.append((f"{name} / variable {var['name']}", var["definition"]))
    return found


# --- Dashboards -------------------------------------------------------------------------------


def test_the_three_dashboards_ship() -> None:
    assert {board["uid"] for _, board in dashboards()} == {
        "skyserve-fleet",
        "skyserve-cost",
        "skyserve-endpoints",
    }
    assert len({board["title"] for _, board in dashboards()}) == 3


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_is_valid_json_with_unique_panel_ids(path: Path) -> None:
    board = json.loads(path.read_text())
    ids = [panel["id"] for panel in board["panels"]]
    assert all(isinstance(i, int) for i in ids)
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {path.name}"
    assert board["id"] is None, "provisioned dashboards carry no database id"
    assert "skyserve" in board["tags"]


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_every_panel_and_query_has_the_datasource_variable(path: Path) -> None:
    board = json.loads(path.read_text())
    for panel in board["panels"]:
        assert panel.get("datasource") == DATASOURCE, (
            f"{panel['title']}: datasource {panel.get('datasource')}"
        )
        targets = panel.get("targets", [])
        assert targets, f"{panel['title']}: no query"
        assert len({t["refId"] for t in targets}) == len(targets), f"{panel['title']}: duplicate refId"
        for target in targets:
            assert target.get("datasource") == DATASOURCE, f"{panel['title']} {target['refId']}"
            assert target.get("expr", "").strip(), f"{panel['title']} {target['refId']}: empty query"
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            assert var["datasource"] == DATASOURCE, var["name"]


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_every_variable_used_is_defined_before_use(path: Path) -> None:
    board = json.loads(path.read_text())
    variables = board["templating"]["list"]
    names = [var["name"] for var in variables]
    assert len(names) == len(set(names))
    assert set(names) >= REQUIRED_VARIABLES
    (datasource,) = [var for var in variables if var["name"] == "datasource"]
    assert (datasource["type"], datasource["query"]) == ("datasource", "prometheus")
    for index, var in enumerate(variables):
        if var["type"] == "query":
            assert var["includeAll"] and var["allValue"] == ".*", var["name"]
            # Chained variables may only use the ones above them.
            used = variables_used(var["definition"]) - GRAFANA_BUILTINS
            assert used <= set(names[:index]), f"variable {var['name']} uses {used - set(names[:index])}"
    for panel in board["panels"]:
        used = {name for text in strings_in(panel) for name in variables_used(text)} - GRAFANA_BUILTINS
        assert used <= set(names), f"{panel['title']}: undefined variables {used - set(names)}"


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_panels_fit_the_grid_without_overlapping(path: Path) -> None:
    board = json.loads(path.read_text())
    cells: dict[tuple[int, int], str] = {}
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert pos["w"] > 0 and pos["h"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_dashboard_filters_apply_where_the_labels_exist() -> None:
    """A cost or placement query that ignores the cloud filter would show the wrong numbers."""
    for name, board in dashboards():
        for panel in board["panels"]:
            for target in panel["targets"]:
                expr = target["expr"]
                for family in ("skyserve_replica_hourly_cost_dollars", "skyserve_replicas_by_cloud"):
                    for match in SELECTOR.finditer(expr):
                        if match.group(1) == family:
                            for variable in ("$service", "$cloud", "$source"):
                                assert variable in match.group(2), f"{name} / {panel['title']}: {variable}"


# --- Metric names and labels ------------------------------------------------------------------


def test_queries_only_read_families_that_exist_with_their_labels() -> None:
    known = family_labels()
    problems = []
    for where, expr in all_queries():
        bare = STRING.sub('""', expr)
        for token in re.findall(r"(?<![\w:])([a-zA-Z_:][\w:]*)", bare):
            if "skyserve" in token and token not in known:
                problems.append(f"{where}: unknown series {token}")
        for match in SELECTOR.finditer(expr):
            name, matchers = match.groups()
            if name not in known:
                continue
            for label in MATCHER.findall(STRING.sub('""', matchers)):
                if label not in known[name] | TARGET_LABELS:
                    problems.append(f"{where}: {name} has no label {label}")
    assert problems == [], "\n".join(problems)


def test_recording_rules_follow_the_naming_convention() -> None:
    names = [rule["record"] for rule in records()]
    assert len(names) == len(set(names))
    for rule in records():
        if rule["record"] in {"skyserve_budget_hourly_dollars", "skyserve_pool_idle_budget_hourly_dollars"}:
            continue  # thresholds the operator sets, not aggregations
        level, metric, operation = rule["record"].split(":")
        assert metric.startswith("skyserve_") and operation, rule["record"]
        by = re.search(r"\bby\s*\(([^)]*)\)", rule["expr"])
        kept = [label.strip() for label in by.group(1).split(",")] if by else []
        # The level names the labels the result keeps, in order: `cloud_region:` for by (cloud, region).
        assert level == "_".join(kept), rule["record"]


def test_the_issue_recording_rules_exist() -> None:
    names = {rule["record"] for rule in records()}
    for level in ("service_name", "cloud", "cloud_region", "spot"):
        assert f"{level}:skyserve_replica_hourly_cost_dollars:sum" in names
    for window in ("1d", "7d", "30d"):
        assert f"service_name_source_cloud:skyserve_replica_cost_dollars:increase{window}" in names
    assert "service_name:skyserve_service_ready_replicas:ratio" in names
    assert "skyserve_budget_hourly_dollars" in names


# --- Alerts -----------------------------------------------------------------------------------


def test_every_alert_has_a_severity_summary_description_and_runbook() -> None:
    readme = (MONITORING / "README.md").read_text()
    headings = set(re.findall(r"^#+\s+(\w+)\s*$", readme, re.MULTILINE))
    for rule in alerts():
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert rule["annotations"]["summary"].strip() and rule["annotations"]["description"].strip()
        assert rule["alert"] in headings, f"no runbook section for {rule['alert']} in monitoring/README.md"


def test_the_issue_alerts_exist() -> None:
    names = {rule["alert"] for rule in alerts()}
    assert names >= {
        "SkyServeServiceNoReadyReplicas",
        "SkyServeReplicasBelowTarget",
        "SkyServeReplicasFailing",
        "SkyServeSpotPreemptionBurst",
        "SkyServeHourlyBurnOverBudget",
        "SkyServeUnpricedReplicas",
        "SkyServeCollectorDown",
        "SkyServeCollectorDataStale",
        "SkyServeEndpointProbeFailing",
        "SkyServeEndpointLatencyHigh",
        "SkyServeCertificateExpiringSoon",
    }


def test_every_alert_has_a_firing_and_a_silent_promtool_case() -> None:
    firing: dict[str, set[str]] = {}
    silent: set[str] = set()
    for path in RULE_TESTS:
        for case in load_yaml(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    severities = {alert["exp_labels"]["severity"] for alert in check["exp_alerts"]}
                    firing.setdefault(check["alertname"], set()).update(severities)
                else:
                    silent.add(check["alertname"])
    for rule in alerts():
        assert rule["labels"]["severity"] in firing.get(rule["alert"], set()), (
            f"{rule['alert']}: no firing case"
        )
        assert rule["alert"] in silent, f"{rule['alert']}: no case where it must stay silent"


SERVICE_ALERTS = ("SkyServeServiceNoReadyReplicas", "SkyServeReplicasBelowTarget")


def replica_sources() -> set[str]:
    """The collectors that emit replicas; each one's name is its replicas' `source` label."""
    return {
        name
        for name, table in all_tables().items()
        if any(spec.name == "skyserve_replica_status" for spec in table)
    }


def alert_checks() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(promtool test case, alert_rule_test check) for every check of every rule test file."""
    return [
        (case, check)
        for path in RULE_TESTS
        for case in load_yaml(path)["tests"]
        for check in case.get("alert_rule_test", [])
    ]


def test_the_service_alerts_have_one_rule_per_replica_source() -> None:
    assert replica_sources() == {"skyserve", "kubernetes", "baremetal"}
    for name in SERVICE_ALERTS:
        variants = [rule for rule in alerts() if rule["alert"] == name]
        assert sorted(rule["labels"].get("source", "") for rule in variants) == sorted(replica_sources())
        # One alert whatever the source: the same severity and the same `for`.
        assert len({(rule["labels"]["severity"], rule["for"]) for rule in variants}) == 1, name


def test_every_source_of_the_service_alerts_has_a_firing_and_a_silent_promtool_case() -> None:
    firing = {
        (check["alertname"], alert["exp_labels"].get("source"))
        for _, check in alert_checks()
        for alert in check.get("exp_alerts") or []
    }
    for rule in alerts():
        if rule["alert"] not in SERVICE_ALERTS:
            continue
        source = rule["labels"]["source"]
        assert (rule["alert"], source) in firing, f"{rule['alert']}: no firing case for source {source}"
        # A silent case (no check of it expects this alert) feeds the family the variant reads
        # first, its source's own, so that the variant's quiet states are tested.
        family, matchers = SELECTOR.search(rule["expr"]).groups()  # type: ignore[union-attr]
        wanted = [family + "{"] + ([f'source="{source}"'] if "source=" in matchers else [])
        silent = [
            case
            for case in {id(case): case for case, _ in alert_checks()}.values()
            if any(check["alertname"] == rule["alert"] for check in case["alert_rule_test"])
            and not any(
                check.get("exp_alerts")
                for check in case["alert_rule_test"]
                if check["alertname"] == rule["alert"]
            )
            and any(all(part in series["series"] for part in wanted) for series in case["input_series"])
        ]
        assert silent, f"{rule['alert']}: no case where it must stay silent for source {source}"


def test_every_recording_rule_has_a_promtool_case() -> None:
    tested = {
        check["expr"].strip()
        for path in RULE_TESTS
        for case in load_yaml(path)["tests"]
        for check in case.get("promql_expr_test", [])
    }
    assert {rule["record"] for rule in records()} <= tested


def test_the_rule_tests_load_every_rule_file() -> None:
    loaded = {(path.parent / name).resolve() for path in RULE_TESTS for name in load_yaml(path)["rule_files"]}
    assert loaded == {path.resolve() for path in RULE_FILES}


def test_alertmanager_routes_every_severity() -> None:
    config = load_yaml(MONITORING / "alertmanager" / "alertmanager.yml")
    routed = {
        match.group(1)
        for route in config["route"]["routes"]
        for matcher in route["matchers"]
        if (match := re.fullmatch(r'severity="(\w+)"', matcher))
    }
    assert {rule["labels"]["severity"] for rule in alerts()} <= routed


def test_alertmanager_inhibits_the_shortfall_only_for_the_same_service_and_source() -> None:
    # A Deployment without a READY pod says nothing about a SkyServe service of the same name.
    config = load_yaml(MONITORING / "alertmanager" / "alertmanager.yml")
    (rule,) = [
        rule
        for rule in config["inhibit_rules"]
        if rule["source_matchers"] == ['alertname="SkyServeServiceNoReadyReplicas"']
    ]
    assert rule["target_matchers"] == ['alertname="SkyServeReplicasBelowTarget"']
    assert set(rule["equal"]) == {"service_name", "source"}
    assert "source" in config["route"]["group_by"]


# --- Prometheus config, Grafana provisioning, compose ----------------------------------------


def compose_services() -> dict[str, Any]:
    services: dict[str, Any] = load_yaml(COMPOSE)["services"]
    return services


def host_path(volume: str) -> Path | None:
    source = volume.split(":", maxsplit=1)[0]
    return (MONITORING / source).resolve() if source.startswith(".") else None


def test_compose_runs_the_four_components_with_a_demo_profile() -> None:
    services = compose_services()
    assert {"exporter", "exporter-demo", "prometheus", "grafana", "alertmanager"} <= set(services)
    assert "demo" in services["exporter-demo"]["profiles"]
    assert "--demo" in services["exporter-demo"]["command"]
    # Prometheus scrapes `exporter` whichever profile runs.
    assert "exporter" in services["exporter-demo"]["networks"]["default"]["aliases"]
    for name in ("exporter", "exporter-demo"):
        build = services[name]["build"]
        assert (MONITORING / build["context"]).resolve() == REPO and build["dockerfile"] == "Dockerfile"


def test_compose_mounts_files_that_exist() -> None:
    mounted = []
    for service in compose_services().values():
        for volume in service.get("volumes", []):
            path = host_path(volume)
            if path is not None:
                assert path.exists(), f"{volume}: {path} does not exist"
                mounted.append(path)
    for needed in (
        PROMETHEUS / "prometheus.yml",
        PROMETHEUS / "rules",
        MONITORING / "alertmanager" / "alertmanager.yml",
        MONITORING / "grafana" / "dashboards",
        MONITORING / "grafana" / "provisioning" / "datasources",
        MONITORING / "grafana" / "provisioning" / "dashboards",
    ):
        assert needed.resolve() in mounted, f"{needed} is not mounted"


def test_prometheus_config_points_at_the_compose_services() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    services = compose_services()
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "skyserve-exporter"]
    (target,) = job["static_configs"][0]["targets"]
    assert target == "exporter:9091"
    assert any(port.startswith("9091:") for port in services["exporter"]["ports"])
    (alertmanager,) = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanager.split(":")[0] in services
    assert config["rule_files"] == ["rules/*.yml"]
    # The exporter-down alert reads this job's `up`.
    assert any('up{job="skyserve-exporter"}' in rule["expr"] for rule in alerts())


def test_grafana_provisioning_matches_the_mounts() -> None:
    datasources = load_yaml(MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
    (prometheus,) = [ds for ds in datasources["datasources"] if ds["type"] == "prometheus"]
    assert prometheus["url"] == "http://prometheus:9090" and prometheus["isDefault"]
    providers = load_yaml(MONITORING / "grafana" / "provisioning" / "dashboards" / "skyserve.yml")[
        "providers"
    ]
    (provider,) = providers
    grafana = compose_services()["grafana"]
    dashboards_mount = [v for v in grafana["volumes"] if v.startswith("./grafana/dashboards:")]
    assert dashboards_mount and dashboards_mount[0].split(":")[1] == provider["options"]["path"]

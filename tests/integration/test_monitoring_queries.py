"""The monitoring bundle against a real Prometheus (Debian's package) scraping the demo exporter.

Prometheus loads the shipped rule files and scrapes `skyserve-exporter --demo` on loopback; once
data has arrived, every recording rule must return samples, every rule must evaluate cleanly, and
every dashboard panel query and variable query, with its variables substituted, must run and
return data.

The exporter runs with a config file holding what it enables by itself for a SkyServe deployment
(the collectors' default sections, so the probes of the discovered endpoints run too) and a
Kubernetes price list without accelerator rates, so that some replicas cannot be priced and the
unpriced-replica panels have data as well, plus a static probe target served over TLS on
loopback, so that the certificate panels have data.
"""

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from exporter.config import read_config
from exporter.registry import discover
from tests.integration.harness import (
    Exporter,
    Process,
    free_port,
    parse_samples,
    prometheus_query,
    require_binary,
    tls_health_server,
    wait_for,
)

pytestmark = pytest.mark.integration

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
RULES = sorted((MONITORING / "prometheus" / "rules").glob("*.yml"))
DASHBOARDS = sorted((MONITORING / "grafana" / "dashboards").glob("*.json"))

# Families that collectors still being built add to the demo: a query reading one of them must
# return data exactly when the exporter serves that family. Every other query must return data.
# Once these collectors have landed in the demo, empty this tuple to make every assertion strict.
# Grafana's built-in variables, at the values Grafana would use for a short time range.
BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h", "__range_s": "3600"}
ALL = ".*"  # the dashboards' allValue: what "All" turns into
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")
DATA_DEADLINE = 60.0


@dataclass(frozen=True)
class PanelQuery:
    where: str  # dashboard / panel / refId, for messages
    expr: str
    instant: bool


def panel_queries(dashboard: dict[str, Any]) -> list[PanelQuery]:
    out = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            where = f"{dashboard['uid']} / {panel['title']!r} / {target['refId']}"
            out.append(PanelQuery(where, target["expr"], bool(target.get("instant"))))
    return out


def query_variables(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, label_values(...) text) of every query variable."""
    return [
        (var["name"], var["definition"]) for var in dashboard["templating"]["list"] if var["type"] == "query"
    ]


def substitute(expr: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name in BUILTINS:
            return BUILTINS[name]
        return values[name]

    return VARIABLE.sub(one, expr)


def regex_escape(value: str) -> str:
    """A value as Grafana interpolates it into a Prometheus regex, inside a double-quoted string."""
    return re.sub(r"([\\^$*+?.()|{}\[\]])", r"\\\\\1", value)


def test_copied_rules_differ_from_the_shipped_ones_only_in_group_intervals(tmp_path: Path) -> None:
    for path in RULES:
        copied = yaml.safe_load(copy_rules(path, tmp_path).read_text())
        shipped = yaml.safe_load(path.read_text())
        for group in shipped["groups"]:
            group.pop("interval", None)
        assert copied == shipped


def copy_rules(path: Path, directory: Path) -> Path:
    """The rule file without group intervals, so that every group runs at the test's 1s evaluation."""
    document = yaml.safe_load(path.read_text())
    for group in document["groups"]:
        group.pop("interval", None)
    out = directory / path.name
    out.write_text(yaml.safe_dump(document, sort_keys=False))
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("monitoring")


@dataclass(frozen=True)
class TLSEndpoint:
    url: str
    ca_file: Path


@pytest.fixture(scope="module")
def tls_endpoint(workdir: Path) -> Iterator[TLSEndpoint]:
    """An HTTPS health endpoint on loopback with a certificate from a throwaway CA."""
    with tls_health_server(workdir) as (url, ca_file):
        yield TLSEndpoint(url, ca_file)


@pytest.fixture(scope="module")
def exporter(workdir: Path, tls_endpoint: TLSEndpoint) -> Iterator[Exporter]:
    # What the exporter enables with no config file for a SkyServe deployment; --demo then aims
    # SkyServe (and bare metal) at the simulator.
    environ = {"SKYPILOT_API_SERVER_ENDPOINT": "http://127.0.0.1:9"}
    sections = read_config(None, discover(), environ).collectors
    collectors: dict[str, dict[str, Any]] = {name: dict(body or {}) for name, body in sections.items()}
    for section in collectors.values():
        section["interval"] = "2s"  # data (and accrued cost) sooner than at the defaults
    if "probes" in collectors:
        tls = {"tls_config": {"ca_file": str(tls_endpoint.ca_file)}}
        collectors["probes"]["modules"] = {"https_local": tls}
        target = {"name": "tls-endpoint", "url": tls_endpoint.url, "module": "https_local"}
        collectors["probes"]["targets"] = [target]
    config = {
        "collectors": collectors,
        # No accelerator rates: GPU replicas on Kubernetes contexts and SSH pools become unpriced.
        "pricing": {"kubernetes": {"cpu": 0.032, "memory": 0.0043, "accelerators": {}}},
    }
    path = workdir / "exporter.yml"
    path.write_text(yaml.safe_dump(config))
    process = Exporter(["--demo", "--config", str(path)], workdir)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def prometheus(workdir: Path, exporter: Exporter) -> Iterator[str]:
    """A Prometheus with the shipped rules and the shipped scrape job, aimed at the exporter."""
    shipped = yaml.safe_load((MONITORING / "prometheus" / "prometheus.yml").read_text())
    (job,) = [job for job in shipped["scrape_configs"] if job["job_name"] == "skyserve-exporter"]
    rules_dir = workdir / "rules"
    rules_dir.mkdir()
    for path in RULES:
        copy_rules(path, rules_dir)
    job.update(
        scrape_interval="1s",
        scrape_timeout="1s",
        static_configs=[{"targets": [f"127.0.0.1:{exporter.port}"]}],
    )
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules_dir / "*.yml")],
        "scrape_configs": [job],
    }
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [
        require_binary("prometheus"),
        f"--config.file={config_path}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    process = Process(argv, workdir / "prometheus.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def recording_rules() -> list[str]:
    return [
        rule["record"]
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    ]


def try_query(url: str, expr: str) -> list[dict[str, Any]]:
    try:
        return prometheus_query(url, expr)
    except (requests.RequestException, AssertionError):
        return []


def rules_health(url: str) -> list[dict[str, Any]]:
    body = requests.get(f"{url}/api/v1/rules", timeout=5).json()
    return [rule for group in body["data"]["groups"] for rule in group["rules"]]


def run_query(url: str, expr: str, instant: bool) -> tuple[str | None, int]:
    """(error, number of series) of an instant query, and of a range query for range panels."""
    response = requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10)
    body = response.json()
    if body.get("status") != "success":
        return f"{body.get('errorType')}: {body.get('error')}", 0
    found = len(body["data"]["result"])
    if not instant:
        end = time.time()
        params: dict[str, str | float] = {"query": expr, "start": end - 30, "end": end, "step": 5}
        ranged = requests.get(f"{url}/api/v1/query_range", params=params, timeout=10).json()
        if ranged.get("status") != "success":
            return f"range query: {ranged.get('errorType')}: {ranged.get('error')}", found
    return None, found


def test_rules_and_every_dashboard_query_return_data(exporter: Exporter, prometheus: str) -> None:
    url = prometheus
    records = recording_rules()
    assert len(records) >= 10

    def every_rule_has_samples() -> bool:
        return all(try_query(url, name) for name in records)

    wait_for(every_rule_has_samples, DATA_DEADLINE, "every recording rule to return samples", step=0.5)
    # Accrued cost reaches the spend rules once the exporter has collected twice.
    spend = "sum(service_name_source_cloud:skyserve_replica_cost_dollars:increase1d)"
    wait_for(
        lambda: [r for r in try_query(url, spend) if float(r["value"][1]) > 0],
        DATA_DEADLINE,
        "spend over a day to rise above 0",
        step=0.5,
    )
    wait_for(
        lambda: all(rule["health"] != "unknown" for rule in rules_health(url)),
        30,
        "every rule to be evaluated",
    )
    broken = [(rule["name"], rule.get("lastError")) for rule in rules_health(url) if rule["health"] != "ok"]
    assert broken == [], broken
    alerts = [rule["name"] for rule in rules_health(url) if rule["type"] == "alerting"]
    assert len(set(alerts)) >= 11

    # The simulated fleet moves: a replica without a price may be absent at one instant, so the
    # family must show up within a few collections, not at one scrape.
    def unpriced_served() -> bool:
        return "skyserve_unpriced_replicas" in {name for name, _ in parse_samples(exporter.scrape().text)}

    wait_for(unpriced_served, 30, "the test config to leave some replicas unpriced", step=1.0)

    problems: list[str] = []
    checked = 0
    # Series that come and go with the simulated fleet get a second look, within one budget.
    retry_until = time.monotonic() + 20
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        values = {name: ALL for name, _ in query_variables(dashboard)}
        for name, definition in query_variables(dashboard):
            match = LABEL_VALUES.match(substitute(definition, values))
            assert match, f"{path.name}: variable {name}: not a label_values() query: {definition}"
            response = requests.get(
                f"{url}/api/v1/label/{match['label']}/values",
                params={"match[]": match["selector"]},
                timeout=5,
            ).json()
            if response["status"] != "success":
                problems.append(f"{path.name}: variable {name}: {response.get('error')}")
            elif not response["data"]:
                problems.append(f"{path.name}: variable {name}: {definition} has no values")
        for query in panel_queries(dashboard):
            expr = substitute(query.expr, values)
            error, found = run_query(url, expr, query.instant)
            if not found:
                while not found and error is None and time.monotonic() < retry_until:
                    time.sleep(0.5)
                    error, found = run_query(url, expr, query.instant)
            checked += 1
            if error is not None:
                problems.append(f"{query.where}: {error}\n    {expr}")
            elif not found:
                problems.append(f"{query.where}: no data\n    {expr}")
    assert checked >= 60
    assert problems == [], "\n".join(problems)


def test_dashboard_queries_run_with_one_value_picked_per_variable(
    exporter: Exporter, prometheus: str
) -> None:
    """One service, cloud and source picked (Grafana's single-value interpolation): every query still runs."""
    url = prometheus
    wait_for(lambda: try_query(url, "skyserve_replica_info"), DATA_DEADLINE, "replica data", step=0.5)
    problems = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        values: dict[str, str] = {}
        for name, definition in query_variables(dashboard):
            match = LABEL_VALUES.match(substitute(definition, values))
            assert match
            response = requests.get(
                f"{url}/api/v1/label/{match['label']}/values",
                params={"match[]": match["selector"]},
                timeout=5,
            ).json()
            options = [value for value in response["data"] if value]
            values[name] = regex_escape(options[0]) if options else ALL
        for query in panel_queries(dashboard):
            expr = substitute(query.expr, values)
            error, _ = run_query(url, expr, query.instant)
            if error is not None:
                problems.append(f"{query.where}: {error}\n    {expr}")
    assert problems == [], "\n".join(problems)


# --- The service alerts of every source, against the demo's fleet ----------------------------

SERVICE_ALERTS = ("SkyServeServiceNoReadyReplicas", "SkyServeReplicasBelowTarget")
SOURCES = ("skyserve", "kubernetes", "baremetal")
NOT_KEPT = {"READY", "SHUTTING_DOWN", "PREEMPTED"}  # a Kubernetes pod outside the shortfall


def service_alert_rules() -> dict[tuple[str, str], str]:
    """(alert, source) -> expression of the per-source variants of the two service alerts."""
    return {
        (rule["alert"], rule["labels"]["source"]): rule["expr"]
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if rule.get("alert") in SERVICE_ALERTS
    }


def query_at(url: str, expr: str, at: float) -> list[dict[str, Any]]:
    params: dict[str, str | float] = {"query": expr, "time": at}
    response = requests.get(f"{url}/api/v1/query", params=params, timeout=10)
    body = response.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def try_query_at(url: str, expr: str, at: float) -> list[dict[str, Any]]:
    try:
        return query_at(url, expr, at)
    except (requests.RequestException, AssertionError):
        return []


def data_before(url: str, expr: str, seconds: float) -> list[dict[str, Any]]:
    return try_query_at(url, expr, time.time() - seconds)


def by_service(result: list[dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for sample in result:
        name = sample["metric"]["service_name"]
        assert name not in out, f"two samples for service {name}: {result}"
        out[name] = float(sample["value"][1])
    return out


def per_exporter(result: list[dict[str, Any]]) -> dict[str, dict[str, list[dict[str, str]]]]:
    """service -> instance -> the series' labels, with their value under "value"."""
    out: dict[str, dict[str, list[dict[str, str]]]] = {}
    for sample in result:
        labels = {**sample["metric"], "value": sample["value"][1]}
        out.setdefault(labels["service_name"], {}).setdefault(labels["instance"], []).append(labels)
    return out


def expected_service_alerts(url: str, at: float) -> dict[tuple[str, str], dict[str, float]]:
    """What the runbooks say each variant returns, computed in Python from the raw series at `at`."""

    def count(expr: str) -> dict[str, float]:
        return {
            name: max(sum(float(s["value"]) for s in series) for series in exporters.values())
            for name, exporters in per_exporter(query_at(url, expr, at)).items()
        }

    ss_ready = count('skyserve_service_replicas{status="READY"}')
    ss_target = count("skyserve_service_target_replicas")
    ss_down = {
        name for name, value in count('skyserve_service_status{status="SHUTTING_DOWN"}').items() if value == 1
    }
    ss_short = {
        n: ss_target[n] - ss_ready[n]
        for n in ss_target.keys() & ss_ready.keys()
        if ss_target[n] > ss_ready[n]
    }
    pods = per_exporter(query_at(url, "skyserve_kubernetes_service_replicas", at))

    def pods_in(name: str, wanted: Callable[[str], bool]) -> float:
        return max(
            sum(float(s["value"]) for s in series if wanted(s["status"])) for series in pods[name].values()
        )

    k8s_ready = {name: pods_in(name, lambda status: status == "READY") for name in pods}
    k8s_kept = {name: pods_in(name, lambda status: status != "SHUTTING_DOWN") for name in pods}
    k8s_short = {n: v for n in pods if (v := pods_in(n, lambda status: status not in NOT_KEPT)) > 0}
    replicas = per_exporter(query_at(url, 'skyserve_replica_status{source="baremetal"}', at))
    bm_ready = {
        n
        for n, exporters in replicas.items()
        if any(s["status"] == "READY" for e in exporters.values() for s in e)
    }
    bm_short = {
        name: v
        for name, exporters in replicas.items()
        if (v := max(sum(s["status"] != "READY" for s in series) for series in exporters.values())) > 0
    }
    # Names an earlier source has no READY replica of (or SkyServe shuts down): not the later's.
    before_k8s = set(ss_down) | {n for n, v in ss_ready.items() if v == 0}
    before_bm = before_k8s | {n for n, v in k8s_ready.items() if v == 0}
    return {
        (SERVICE_ALERTS[0], "skyserve"): {n: 0 for n, v in ss_ready.items() if v == 0 and n not in ss_down},
        (SERVICE_ALERTS[0], "kubernetes"): {
            n: 0 for n, v in k8s_ready.items() if v == 0 and k8s_kept[n] > 0 and n not in before_k8s
        },
        (SERVICE_ALERTS[0], "baremetal"): {
            n: 0 for n in replicas if n not in bm_ready and n not in before_bm
        },
        (SERVICE_ALERTS[1], "skyserve"): {n: v for n, v in ss_short.items() if n not in ss_down},
        (SERVICE_ALERTS[1], "kubernetes"): {
            n: v for n, v in k8s_short.items() if n not in ss_short and n not in before_k8s
        },
        (SERVICE_ALERTS[1], "baremetal"): {
            n: v
            for n, v in bm_short.items()
            if n not in ss_short and n not in k8s_short and n not in before_bm
        },
    }


def test_service_alerts_cover_every_source_of_the_demo_once_per_service(
    exporter: Exporter, prometheus: str
) -> None:
    """The no-READY and shortfall variants of each source return, on the demo's moving fleet, what
    the runbooks say, never one service name from two sources; the failing bare-metal node's
    replica makes its service `embed` short by one, as a pending alert labelled source="baremetal"."""
    url = prometheus
    rules = service_alert_rules()
    assert set(rules) == {(alert, source) for alert in SERVICE_ALERTS for source in SOURCES}
    # Every source's data, already a few seconds old: the instants queried below are in the past.
    for family in (
        'skyserve_service_replicas{status="READY"}',
        'skyserve_kubernetes_service_replicas{status="READY"}',
        'skyserve_replica_status{source="baremetal",status="NOT_READY"}',
    ):
        wait_for(partial(data_before, url, family, 3), DATA_DEADLINE, f"{family} to have data", step=0.5)
    pending = 'ALERTS{alertname="SkyServeReplicasBelowTarget",alertstate="pending",source="baremetal"}'
    (alert,) = wait_for(
        lambda: try_query(url, pending), 30, "the bare-metal shortfall to be pending", step=0.5
    )
    assert alert["metric"]["service_name"] == "embed" and alert["metric"]["severity"] == "warning"

    for _ in range(6):  # a few instants: the simulated fleet moves between them
        at = time.time() - 2  # samples up to here have landed
        expected = expected_service_alerts(url, at)
        for key, expr in sorted(rules.items()):
            got = by_service(query_at(url, expr, at))
            assert got == expected[key], f"{key} at {at}: got {got}, expected {expected[key]}"
        for alert_name in SERVICE_ALERTS:
            names = [name for (a, _), found in expected.items() if a == alert_name for name in found]
            assert len(names) == len(set(names)), f"{alert_name}: a service from two sources at {at}"
        # The demo's bare metal: embed has one replica on the failing node, llama-70b none.
        assert expected[(SERVICE_ALERTS[1], "baremetal")] == {"embed": 1}
        assert expected[(SERVICE_ALERTS[0], "baremetal")] == {}
        time.sleep(2.5)

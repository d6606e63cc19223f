"""What a round probes: discovered endpoints by kind, static targets, each series once."""

from collectors.probes.config import DiscoverConfig, StaticTarget
from collectors.probes.model import ProbeTarget
from collectors.probes.targets import TargetBook
from exporter.collector import Endpoint
from tests.unit.probes.fakes import RecordingProber, fake_modules

SERVICE = Endpoint("http://10.0.0.1:30001", "service", "llama")
REPLICA = Endpoint("http://10.0.0.2:8080", "replica", "llama", "1")
NODE = Endpoint("http://10.0.0.5:8000/healthz", "node", "", "")
POD = Endpoint("http://10.0.0.9:80", "pod", "llama", "")
STATIC = StaticTarget(name="public-api", url="https://api.example.com/health", service_name="llama")


def book(endpoints: list[Endpoint], discover: DiscoverConfig | None = None) -> TargetBook:
    return TargetBook(
        discover or DiscoverConfig(), (STATIC,), fake_modules(RecordingProber()), lambda: tuple(endpoints)
    )


def test_defaults_probe_services_and_nodes_not_replicas() -> None:
    targets = book([SERVICE, REPLICA, NODE, POD]).targets()
    assert [t.labels for t in targets] == [
        ("public-api", "llama", "", "static"),
        ("http://10.0.0.1:30001/health", "llama", "", "service"),
        ("http://10.0.0.5:8000/healthz", "", "", "node"),  # a node's health URL is probed as is
    ]
    assert targets[0].url == "https://api.example.com/health"


def test_replicas_when_asked_and_nothing_when_all_is_off() -> None:
    everything = DiscoverConfig(replicas=True)
    assert [t.kind for t in book([SERVICE, REPLICA], everything).targets()] == [
        "static",
        "service",
        "replica",
    ]
    off = DiscoverConfig(services=False, nodes=False)
    assert [t.kind for t in book([SERVICE, REPLICA, NODE], off).targets()] == ["static"]


def test_the_discover_module_decides_the_path() -> None:
    targets = book([SERVICE], DiscoverConfig(module="other")).targets()
    assert targets[1] == ProbeTarget(
        "http://10.0.0.1:30001/other", "http://10.0.0.1:30001/other", "other", "service", "llama", ""
    )


def test_new_and_gone_endpoints_follow_discovery() -> None:
    endpoints = [SERVICE]
    targets = book(endpoints)
    assert len(targets.targets()) == 2
    endpoints.append(Endpoint("http://10.0.0.3:30001", "service", "qwen"))
    assert [t.service_name for t in targets.targets()] == ["llama", "llama", "qwen"]
    endpoints.clear()
    assert [t.kind for t in targets.targets()] == ["static"]


def test_credentials_never_reach_the_label() -> None:
    secret = Endpoint("http://user:hunter2@10.0.0.1:30001", "service", "llama")
    (_, target) = book([secret]).targets()
    assert target.label == "http://***@10.0.0.1:30001/health"
    assert target.url == "http://user:hunter2@10.0.0.1:30001/health"


def test_each_series_once() -> None:
    twice = [SERVICE, SERVICE, Endpoint("http://10.0.0.1:30001/", "service", "llama")]
    assert len(book(twice).targets()) == 2

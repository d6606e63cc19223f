"""The collectors.probes section: defaults, blackbox-style modules, mistakes reported with their key."""

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from collectors.probes.collector import ProbesCollector
from collectors.probes.config import DEFAULT_MODULE_NAME, ProbesConfig
from exporter.config import ConfigError, ExporterConfig, load_config, validate_config
from exporter.registry import discover


def problems(section: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        validate_config(ExporterConfig(collectors={"probes": section}), discover())
    return caught.value.problems


def test_defaults_are_the_documented_ones() -> None:
    # As docs/metrics.md lists them for collectors.probes.
    config = ProbesConfig()
    assert (config.interval, config.concurrency) == (15.0, 64)
    assert (config.discover.services, config.discover.replicas, config.discover.nodes) == (True, False, True)
    http_2xx = config.all_modules()[DEFAULT_MODULE_NAME]
    assert (http_2xx.prober, http_2xx.path, http_2xx.timeout, http_2xx.valid_status_codes) == (
        "http",
        "/health",
        5.0,
        (),
    )
    assert (http_2xx.preferred_ip_protocol, http_2xx.ip_protocol_fallback, http_2xx.follow_redirects) == (
        "ip6",
        True,
        True,
    )


def test_the_example_config_section_validates() -> None:
    # The collectors.probes section of docs/config.example.yml.
    config = ProbesConfig.model_validate(
        {
            "interval": "15s",
            "discover": {"services": True, "replicas": False, "nodes": True},
            "modules": {
                "http_2xx": {
                    "prober": "http",
                    "path": "/health",
                    "timeout": "5s",
                    "valid_status_codes": [200],
                }
            },
            "targets": [
                {"name": "public-api", "url": "https://api.example.com/health", "module": "http_2xx"}
            ],
        }
    )
    assert config.all_modules()["http_2xx"].valid_status_codes == (200,)
    assert config.targets[0].name == "public-api"


def test_configured_modules_add_to_the_default() -> None:
    config = ProbesConfig.model_validate({"modules": {"tcp_connect": {"prober": "tcp"}}})
    assert set(config.all_modules()) == {"http_2xx", "tcp_connect"}


def test_default_config_follows_the_skyserve_endpoint() -> None:
    assert ProbesCollector.default_config({}) is None
    assert ProbesCollector.default_config({"SKYPILOT_API_SERVER_ENDPOINT": " "}) is None
    assert ProbesCollector.default_config({"SKYPILOT_API_SERVER_ENDPOINT": "http://api:46580"}) == {}


TCP = {"t": {"prober": "tcp"}}


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"surprise": 1}, "surprise: unknown key"),
        ({"modules": {"m": {"prober": "icmp"}}}, "modules.m.prober: Input should be 'http' or 'tcp'"),
        (
            {"modules": {"m": {"timeout": "soon"}}},
            "modules.m.timeout: invalid duration 'soon': "
            "use a number and a unit (ms, s, m, h, d), e.g. '30s'",
        ),
        (
            {"modules": {"m": {"path": "health"}}},
            "modules.m.path: must start with '/' and hold no spaces, '#' or line breaks",
        ),
        ({"modules": {"m": {"method": "GET /x"}}}, "modules.m.method: not an HTTP method: 'GET /x'"),
        (
            {"modules": {"m": {"headers": {"X-A": "a\r\nX-B: b"}}}},
            "modules.m.headers.X-A: must not contain line breaks",
        ),
        (
            {"modules": {"m": {"valid_status_codes": [999]}}},
            "modules.m.valid_status_codes: HTTP status codes are 100-599, got [999]",
        ),
        (
            {"modules": {"m": {"prober": "tcp", "path": "/x"}}},
            "modules.m.path: not a setting of the tcp prober",
        ),
        (
            {"modules": {"m": {"prober": "tcp", "path": "/x", "method": "PUT"}}},
            "modules.m.method: not a setting of the tcp prober (nor is path)",
        ),
        ({"modules": {"m": {"tls": True}}}, "modules.m.tls: not a setting of the http prober"),
        (
            {"modules": {"m": {"tls_config": {"key_file": "k.pem"}}}},
            "modules.m.tls_config.key_file: needs cert_file",
        ),
        ({"discover": {"module": "nope"}}, "discover.module: unknown module 'nope'"),
        (
            {"targets": [{"name": "a", "url": "http://h/", "module": "nope"}]},
            "targets.0.module: unknown module 'nope'",
        ),
        (
            {"targets": [{"name": "a", "url": "h:80"}]},
            "targets.0.url: an http module needs an http:// or https:// URL with a host",
        ),
        ({"targets": [{"name": "a", "url": "http://h:99999/"}]}, "targets.0.url: port must be 1-65535"),
        ({"targets": [{"name": "a", "url": "https://h:0/"}]}, "targets.0.url: port must be 1-65535, got 0"),
        (
            {"modules": TCP, "targets": [{"name": "a", "url": "h", "module": "t"}]},
            "targets.0.url: a tcp module needs host:port or a URL with a host",
        ),
        (
            {"modules": TCP, "targets": [{"name": "a", "url": "h:65536", "module": "t"}]},
            "targets.0.url: port must be 1-65535",
        ),
        (
            {"modules": TCP, "targets": [{"name": "a", "url": "h:0", "module": "t"}]},
            "targets.0.url: port must be 1-65535, got 0",
        ),
        (
            {"modules": TCP, "targets": [{"name": "a", "url": "tls://h:70000", "module": "t"}]},
            "targets.0.url: port must be 1-65535",
        ),
        (
            {"targets": [{"name": "a", "url": "http://h/"}, {"name": "a", "url": "http://i/"}]},
            "targets.1.name: 'a' is the name of targets.0 too",
        ),
        ({"concurrency": 0}, "concurrency: Input should be greater than or equal to 1"),
        ({"timeout": "5s"}, "timeout: set it per module (modules.<name>.timeout)"),
    ],
)
def test_mistakes_name_their_key_once(section: dict[str, Any], expected: str) -> None:
    assert problems(section) == [f"collectors.probes.{expected}"]


def test_ports_at_the_ends_of_the_range_are_kept() -> None:
    targets = [
        {"name": "a", "url": "http://h:1/"},
        {"name": "b", "url": "https://h:65535/"},
        {"name": "c", "url": "h:65535", "module": "t"},
        {"name": "d", "url": "[::1]:1", "module": "t"},
    ]
    config = ProbesConfig.model_validate({"modules": TCP, "targets": targets})
    assert [t.url for t in config.targets] == [t["url"] for t in targets]


def test_tls_files_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(
        "collectors:\n  probes:\n    modules:\n      m:\n"
        "        tls_config: {ca_file: pki/ca.pem, cert_file: ~/client.pem, key_file: /etc/client.key}\n"
    )
    config = load_config(path, discover(), {}).config_of("probes")
    assert isinstance(config, ProbesConfig)
    tls = config.modules["m"].tls_config
    assert (tls.ca_file, tls.cert_file, tls.key_file) == (
        tmp_path.resolve() / "pki" / "ca.pem",
        Path.home() / "client.pem",
        Path("/etc/client.key"),
    )


def test_errors_never_show_target_urls() -> None:
    found = problems({"targets": [{"name": "a", "url": "ftp://user:hunter2@h/"}]})
    assert found and not any("hunter2" in problem for problem in found)
    with pytest.raises(ValidationError) as caught:
        ProbesConfig.model_validate({"targets": [{"name": "", "url": "http://user:hunter2@h/"}]})
    assert "hunter2" not in str(caught.value)

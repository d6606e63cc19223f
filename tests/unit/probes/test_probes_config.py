"""The collectors.probes section: defaults, blackbox-style modules, mistakes reported with their key."""

from typing import Any

import pytest
from pydantic import ValidationError

from collectors.probes.collector import ProbesCollector
from collectors.probes.config import DEFAULT_MODULE_NAME, ProbesConfig
from exporter.config import ConfigError, ExporterConfig, validate_config
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


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"surprise": 1}, "collectors.probes.surprise"),
        ({"modules": {"m": {"prober": "icmp"}}}, "collectors.probes.modules.m.prober"),
        ({"modules": {"m": {"timeout": "soon"}}}, "collectors.probes.modules.m.timeout"),
        ({"modules": {"m": {"path": "health"}}}, "path must start with '/'"),
        ({"modules": {"m": {"method": "GET /x"}}}, "not an HTTP method"),
        ({"modules": {"m": {"headers": {"X-A": "a\r\nX-B: b"}}}}, "must not contain line breaks"),
        ({"modules": {"m": {"valid_status_codes": [999]}}}, "100-599"),
        ({"modules": {"m": {"fail_if_body_matches_regexp": ["("]}}}, "invalid regular expression"),
        ({"modules": {"m": {"prober": "tcp", "path": "/x"}}}, "path: not a setting of the tcp prober"),
        ({"modules": {"m": {"tls": True}}}, "tls: not a setting of the http prober"),
        ({"modules": {"m": {"tls_config": {"key_file": "k.pem"}}}}, "key_file needs cert_file"),
        ({"discover": {"module": "nope"}}, "discover.module: unknown module 'nope'"),
        ({"targets": [{"name": "a", "url": "http://h/", "module": "nope"}]}, "targets.0.module: unknown"),
        ({"targets": [{"name": "a", "url": "h:80"}]}, "targets.0.url: an http module needs"),
        (
            {"modules": {"t": {"prober": "tcp"}}, "targets": [{"name": "a", "url": "h", "module": "t"}]},
            "targets.0.url: a tcp module needs host:port",
        ),
        (
            {"targets": [{"name": "a", "url": "http://h/"}, {"name": "a", "url": "http://i/"}]},
            "targets.1.name: 'a' is used twice",
        ),
        ({"concurrency": 0}, "collectors.probes.concurrency"),
        ({"timeout": "5s"}, "timeout: set it per module"),
    ],
)
def test_mistakes_name_their_key(section: dict[str, Any], expected: str) -> None:
    found = problems(section)
    assert any(expected in problem for problem in found), found


def test_errors_never_show_target_urls() -> None:
    found = problems({"targets": [{"name": "a", "url": "ftp://user:hunter2@h/"}]})
    assert found and not any("hunter2" in problem for problem in found)
    with pytest.raises(ValidationError) as caught:
        ProbesConfig.model_validate({"targets": [{"name": "", "url": "http://user:hunter2@h/"}]})
    assert "hunter2" not in str(caught.value)

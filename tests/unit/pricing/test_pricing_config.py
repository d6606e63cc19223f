from pathlib import Path
from typing import Any

import pydantic
import pytest

from collectors.pricing import PricingConfig
from collectors.pricing.config import DEFAULT_REFRESH_FALLBACK_URL, DEFAULT_REFRESH_URL
from exporter.config import load_config
from exporter.config_errors import format_validation_error
from exporter.registry import discover


def _problems(section: dict[str, Any]) -> list[str]:
    with pytest.raises(pydantic.ValidationError) as raised:
        PricingConfig.model_validate(section)
    return format_validation_error(raised.value, prefix="pricing")


def test_defaults() -> None:
    config = PricingConfig()
    assert config.catalog_dir == Path.home() / ".sky" / "catalogs" / "v8"
    assert config.refresh == "off"
    assert config.refresh_interval is None
    assert config.refresh_url == DEFAULT_REFRESH_URL
    assert config.refresh_fallback_url == DEFAULT_REFRESH_FALLBACK_URL
    assert (config.kubernetes, config.skypilot_config, config.overrides, config.clouds) == (
        None,
        None,
        (),
        None,
    )


def test_refresh_is_off_or_a_duration() -> None:
    assert PricingConfig.model_validate({"refresh": "7h"}).refresh_interval == 7 * 3600
    assert PricingConfig.model_validate({"refresh": "off"}).refresh_interval is None
    assert _problems({"refresh": "sometimes"})[0].startswith("pricing.refresh")


def test_clouds_are_lower_case() -> None:
    assert PricingConfig.model_validate({"clouds": ["AWS", " gcp "]}).clouds == ("aws", "gcp")


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"catalog": "/x"}, "pricing.catalog: unknown key"),
        ({"overrides": [{"hourly": 1.0}]}, "pricing.overrides.0: an override needs at least one of"),
        (
            {"overrides": [{"cloud": "aws", "hourly": -1}]},
            "pricing.overrides.0.hourly: Input should be greater",
        ),
        ({"overrides": [{"cloud": "aws"}]}, "pricing.overrides.0.hourly: Field required"),
        (
            {"overrides": [{"cloud": "aws", "hourly": 1, "zone": "a"}]},
            "pricing.overrides.0.zone: unknown key",
        ),
        ({"kubernetes": {"cpu": -0.1}}, "pricing.kubernetes.cpu: Input should be greater"),
        ({"kubernetes": {"accelerators": {"L4": "cheap"}}}, "pricing.kubernetes.accelerators.L4"),
        ({"kubernetes": {"pricing": {"cpu": 1}}}, "pricing.kubernetes.pricing: unknown key"),
        ({"kubernetes": {"context_configs": {"c": {"gpu": 1}}}}, "pricing.kubernetes.context_configs.c.gpu"),
        ({"refresh_timeout": "0s"}, "pricing.refresh_timeout"),
    ],
)
def test_bad_config_names_the_key(section: dict[str, Any], problem: str) -> None:
    problems = _problems(section)
    assert any(line.startswith(problem) for line in problems), problems


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://admin:s3cret@mirror/v8", "must be an http:// or https:// URL with a host (scheme 'ftp')"),
        ("https://admin:s3cret@mirror:99999/v8", "port must be 1-65535"),
        ("https://admin:s3cret@mirror:0/v8", "port must be 1-65535, got 0"),
    ],
)
def test_refresh_urls_must_be_http_with_a_port_in_range(url: str, problem: str) -> None:
    assert _problems({"refresh_url": url}) == [f"pricing.refresh_url: {problem}"]
    assert _problems({"refresh_fallback_url": url}) == [f"pricing.refresh_fallback_url: {problem}"]
    with pytest.raises(pydantic.ValidationError) as raised:
        PricingConfig.model_validate({"refresh_url": url})
    assert "s3cret" not in str(raised.value)


def test_file_paths_start_at_the_config_files_directory(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("pricing: {catalog_dir: catalogs/v8, skypilot_config: ../sky/config.yaml}\n")
    (tmp_path / "sky").mkdir()
    (tmp_path / "sky" / "config.yaml").write_text("")
    config = load_config(path, discover(), {}).config_of("pricing")
    assert isinstance(config, PricingConfig)
    assert config.catalog_dir == tmp_path.resolve() / "catalogs" / "v8"
    assert config.skypilot_config == tmp_path.resolve() / ".." / "sky" / "config.yaml"

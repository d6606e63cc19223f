from pathlib import Path
from typing import Any

import pydantic
import pytest

from collectors.pricing import PricingConfig
from collectors.pricing.config import DEFAULT_REFRESH_FALLBACK_URL, DEFAULT_REFRESH_URL
from exporter.config_errors import format_validation_error


def _problems(section: dict[str, Any]) -> list[str]:
    with pytest.raises(pydantic.ValidationError) as raised:
        PricingConfig.model_validate(section)
    return format_validation_error(raised.value, prefix="pricing")


def test_defaults() -> None:
    config = PricingConfig()
    assert config.catalog_dir == Path("~/.sky/catalogs/v8")
    assert config.catalog_path == Path.home() / ".sky" / "catalogs" / "v8"
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

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from collectors.pricing.collector import PricingCollector
from exporter.collector import CollectorConfig, CollectorFactory
from exporter.config import load_config
from exporter.config_errors import ConfigError
from tests.unit.framework.fakes import FakeCollector


class StrictFakeConfig(CollectorConfig):
    endpoint: str
    token_file: Path | None = None


class StrictFake(FakeCollector):
    name: ClassVar[str] = "strict"
    config_model: ClassVar[type[CollectorConfig]] = StrictFakeConfig

    @classmethod
    def default_config(cls, environ: Mapping[str, str]) -> Mapping[str, Any] | None:
        return {"endpoint": environ["STRICT_ENDPOINT"]} if "STRICT_ENDPOINT" in environ else None


FACTORIES = {"fake": FakeCollector, "strict": StrictFake}
# With a plugin that claims a top-level key, as the real pricing collector does.
WITH_PRICING: dict[str, CollectorFactory] = {**FACTORIES, "pricing": PricingCollector}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text)
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), WITH_PRICING, {})
    return caught.value.problems


def test_valid_config_enables_sections_with_parsed_durations(tmp_path: Path) -> None:
    path = write(tmp_path, "collectors:\n  fake: {interval: 1m, timeout: 500ms}\n  strict: {endpoint: x}\n")
    enabled = load_config(path, FACTORIES, {}).collectors
    assert [e.factory.name for e in enabled] == ["fake", "strict"]
    config = enabled[0].config
    assert isinstance(config, CollectorConfig)
    assert config.interval == 60.0
    assert config.timeout == 0.5
    assert config.stale_after_seconds == 180.0


def test_empty_section_uses_defaults_and_enabled_false_disables(tmp_path: Path) -> None:
    path = write(tmp_path, "collectors:\n  fake:\n  strict: {endpoint: x, enabled: false}\n")
    enabled = load_config(path, FACTORIES, {}).collectors
    assert [e.factory.name for e in enabled] == ["fake"]
    assert isinstance(enabled[0].config, CollectorConfig)
    assert enabled[0].config.interval == 30.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("collectors:\n  fake: {intervall: 30s}\n", "collectors.fake.intervall: unknown key"),
        ("collectors:\n  fake: {interval: soon}\n", "collectors.fake.interval: invalid duration 'soon'"),
        ("collectors:\n  fake: {interval: 0s}\n", "collectors.fake.interval: duration must be positive"),
        (
            "collectors:\n  fake: {enabled: maybe}\n",
            "collectors.fake.enabled: Input should be a valid boolean",
        ),
        ("collectors:\n  strict: {}\n", "collectors.strict.endpoint: Field required"),
        (
            "collectors:\n  nosuch: {}\n",
            "collectors.nosuch: unknown collector (installed: fake, strict, pricing)",
        ),
        ("pricingg: {}\n", "pricingg: unknown key (known: collectors, pricing)"),
        ("pricing: 5\n", "pricing: Input should be a valid dictionary"),
        (
            "collectors:\n  pricing: {}\n",
            "collectors.pricing: configured by the top-level 'pricing:' section",
        ),
        ("pricing: {refresh: sometimes}\n", "pricing.refresh"),
        ("pricing: {overrides: [{cloud: aws}]}\n", "pricing.overrides.0"),
        ("collectors: [1, 2]\n", "collectors: Input should be a valid dictionary"),
        (
            "collectors:\n  fake: {interval: 10s, timeout: 30s}\n",
            "collectors.fake.timeout: 30s must not exceed interval (10s)",
        ),
    ],
)
def test_each_mistake_names_the_key_and_the_reason(tmp_path: Path, text: str, expected: str) -> None:
    problems = problems_of(tmp_path, text)
    assert any(p.startswith(expected) for p in problems), problems


def test_all_mistakes_are_reported_at_once(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "collectors:\n  fake: {interval: x}\n  strict: {endpoint: 1, y: 2}\n")
    assert len(problems) == 3, problems


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "collectors:\n  fake: {interval: 30s\n")
    assert "not valid YAML" in problem
    assert "line 3" in problem


def test_missing_file_and_non_mapping_document(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yml", FACTORIES, {})
    assert "top level must be a mapping" in problems_of(tmp_path, "- a\n- b\n")[0]


def test_config_values_are_not_echoed_in_errors(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "collectors:\n  strict: {endpoint: x, token_file: {sky_secret: 1}}\n")
    assert problems
    assert not any("sky_secret" in p for p in problems)


def test_without_a_file_the_environment_decides(tmp_path: Path) -> None:
    assert load_config(None, FACTORIES, {}).collectors == []
    enabled = load_config(None, FACTORIES, {"FAKE_ON": "1"}).collectors
    assert [e.factory.name for e in enabled] == ["fake"]
    enabled = load_config(None, FACTORIES, {"STRICT_ENDPOINT": "http://h"}).collectors
    assert [(e.factory.name, getattr(e.config, "endpoint", None)) for e in enabled] == [
        ("strict", "http://h")
    ]


def test_a_top_level_section_is_on_unless_turned_off(tmp_path: Path) -> None:
    def names(text: str) -> list[str]:
        return [e.factory.name for e in load_config(write(tmp_path, text), WITH_PRICING, {}).collectors]

    assert names("collectors:\n  fake:\n") == ["fake", "pricing"], "left out, its default applies"
    assert names("collectors:\n  fake:\npricing:\n") == ["fake", "pricing"]
    assert names("collectors:\n  fake:\npricing: {enabled: false}\n") == ["fake"]


def test_without_a_file_top_level_and_collector_defaults_come_from_the_environment() -> None:
    loaded = load_config(None, WITH_PRICING, {"STRICT_ENDPOINT": "http://x"})
    assert [e.factory.name for e in loaded.collectors] == ["strict", "pricing"]

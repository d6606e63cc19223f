from pathlib import Path

import pytest

from exporter.collector import CollectorConfig
from exporter.config import ConfigError, load_config
from exporter.durations import format_duration, parse_duration
from tests.unit.framework.fakes import FakeCollector


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("250ms", 0.25), ("1.5s", 1.5), ("2d", 172800), (15, 15)],
)
def test_parses_prometheus_style_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "30", "30 s", "abc", "5x", "-5s", "0s", True, None, [1]])
def test_rejects_what_is_not_a_positive_duration(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_formats_back() -> None:
    assert format_duration(30.0) == "30s"
    assert format_duration(0.25) == "250ms"


def test_a_written_number_without_a_unit_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("collectors:\n  fake: {interval: 30, timeout: 2.5}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {"fake": FakeCollector}, {})
    assert caught.value.problems == [
        "collectors.fake.interval: a duration needs a unit: write '30s' for 30 seconds",
        "collectors.fake.timeout: a duration needs a unit: write '2.5s' for 2.5 seconds",
    ]


def test_code_may_still_give_seconds_as_numbers() -> None:
    assert CollectorConfig(interval=60, timeout=5).interval == 60.0

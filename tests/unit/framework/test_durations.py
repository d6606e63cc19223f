import pytest

from exporter.durations import format_duration, parse_duration


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

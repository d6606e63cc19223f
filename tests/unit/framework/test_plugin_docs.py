"""docs/plugins.md shows the example plugin's code as it is in docs/examples/plugin."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def collector_code(text: str) -> str:
    """From the config model to the end of ``build``: the part the guide quotes."""
    start = text.index("class ApiHealthConfig")
    end = text.index("return Build(families=out.families())", start)
    return text[start:end]


def test_the_guide_quotes_the_example_plugin_as_it_is() -> None:
    guide = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    module = (ROOT / "docs" / "examples" / "plugin" / "skyserve_api_health.py").read_text(encoding="utf-8")
    assert collector_code(guide) == collector_code(module)


def test_the_example_registers_under_the_exporters_entry_point_group() -> None:
    pyproject = (ROOT / "docs" / "examples" / "plugin" / "pyproject.toml").read_text(encoding="utf-8")
    assert '[project.entry-points."skyserve_exporter.collectors"]' in pyproject
    assert 'api_health = "skyserve_api_health:ApiHealthCollector"' in pyproject

from pathlib import Path

from collectors.pricing import PricingConfig
from exporter.config import load_config
from exporter.registry import discover

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "config.example.yml"


def test_the_shipped_example_config_is_valid() -> None:
    loaded = load_config(EXAMPLE, discover(), {})
    assert [c.factory.name for c in loaded.collectors] == [
        "skyserve",
        "kubernetes",
        "baremetal",
        "probes",
        "pricing",
    ]
    pricing = loaded.config_of("pricing")
    assert isinstance(pricing, PricingConfig)
    assert pricing.kubernetes is not None
    assert pricing.kubernetes.accelerators == {"L4": 0.70}
    assert pricing.overrides[0].hourly == 55.04

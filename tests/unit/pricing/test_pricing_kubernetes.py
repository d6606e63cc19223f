"""Kubernetes and SSH node pools: SkyPilot's kubernetes.pricing rates, from our config or SkyPilot's."""

from pathlib import Path

import pytest

from collectors.pricing import KubernetesPricing, PriceQuery, PricingRates
from collectors.pricing.config import read_skypilot_pricing
from exporter.config_errors import SectionError
from tests.unit.pricing.catalogs import SKYPILOT_CONFIG, fixture_book, pod

RATES = KubernetesPricing(
    cpu=0.05,
    memory=0.01,
    accelerators={"L4": 0.70, "H100": 4.50},
    context_configs={
        "onprem-gpu": PricingRates(accelerators={"L4": 0.55}),
        "ssh-gpu-rack-a": PricingRates(cpu=0.03),
    },
)
BOOK = fixture_book(kubernetes=RATES)


@pytest.mark.parametrize(
    ("query_", "hourly"),
    [
        (pod("gke-prod", "L4", 2.0), 2 * 0.70),  # GPU rates are all-in: cpu and memory are not added
        (pod("gke-prod", "l4", 1.0), 0.70),  # names compare case-insensitively
        (pod("gke-prod", cpus=8.0, memory_gib=32.0), 8 * 0.05 + 32 * 0.01),
        (pod("gke-prod", "L4", 0.0, cpus=2.0, memory_gib=4.0), 2 * 0.05 + 4 * 0.01),  # zero GPUs: a cpu pod
        (pod("onprem-gpu", "L4", 1.0), 0.55),  # the context's own rate
        (pod("onprem-gpu", "H100", 8.0), 8 * 4.50),  # other accelerators still come from the top level
        (pod("ssh-gpu-rack-a", cpus=8.0, memory_gib=32.0), 8 * 0.03 + 32 * 0.01),  # cpu replaced, memory kept
        (pod("ssh-pool1", "H100", 8.0, nodes=2), 2 * 8 * 4.50),
        (pod("whatever", "L4", 1.0, context="onprem-gpu"), 0.55),  # an explicit context beats the region
    ],
)
def test_rates(query_: PriceQuery, hourly: float) -> None:
    price = BOOK.price(query_)
    assert price.hourly == pytest.approx(hourly)
    assert price.source == "catalog"


@pytest.mark.parametrize(
    ("query_", "reason"),
    [
        (pod("gke-prod", "A100", 1.0), "unknown_accelerator"),  # SkyPilot would say $0
        (pod("gke-prod", "L4", None), "incomplete_resources"),
        (pod("gke-prod", cpus=None, memory_gib=32.0), "incomplete_resources"),
    ],
)
def test_what_cannot_be_priced(query_: PriceQuery, reason: str) -> None:
    assert BOOK.price(query_).reason == reason


def test_without_pricing_kubernetes_is_unpriced_not_free() -> None:
    book = fixture_book()
    assert book.price(pod("gke-prod", "L4", 1.0)).reason == "no_kubernetes_pricing"
    assert book.price(pod("ssh-pool1", cpus=4.0, memory_gib=16.0)).reason == "no_kubernetes_pricing"


def test_gpu_only_rates_leave_cpu_pods_unpriced() -> None:
    book = fixture_book(kubernetes=KubernetesPricing(accelerators={"L4": 0.7}))
    assert book.price(pod("gke-prod", "L4", 1.0)).hourly == pytest.approx(0.7)
    assert book.price(pod("gke-prod", cpus=4.0, memory_gib=16.0)).reason == "no_kubernetes_pricing"


def test_an_unset_rate_costs_nothing_as_in_skypilot() -> None:
    book = fixture_book(kubernetes=KubernetesPricing(cpu=0.04))
    assert book.price(pod("gke-prod", cpus=4.0, memory_gib=None)).hourly == pytest.approx(0.16)


def test_only_a_context_priced() -> None:
    book = fixture_book(kubernetes=KubernetesPricing(context_configs={"onprem-gpu": PricingRates(cpu=0.02)}))
    assert book.price(pod("onprem-gpu", cpus=4.0, memory_gib=16.0)).hourly == pytest.approx(0.08)
    assert book.price(pod("gke-prod", cpus=4.0, memory_gib=16.0)).reason == "no_kubernetes_pricing"


def test_reads_kubernetes_pricing_from_a_skypilot_config() -> None:
    assert read_skypilot_pricing(SKYPILOT_CONFIG) == RATES
    book = fixture_book(skypilot_config=SKYPILOT_CONFIG)
    assert book.price(pod("onprem-gpu", "L4", 1.0)).hourly == pytest.approx(0.55)


def test_our_rates_layer_over_skypilots() -> None:
    ours = KubernetesPricing(
        accelerators={"L4": 0.80}, context_configs={"gke-prod": PricingRates(memory=0.02)}
    )
    book = fixture_book(skypilot_config=SKYPILOT_CONFIG, kubernetes=ours)
    assert book.price(pod("eks", "L4", 1.0)).hourly == pytest.approx(0.80)  # our top level wins
    assert book.price(pod("onprem-gpu", "L4", 1.0)).hourly == pytest.approx(0.55)  # a context beats any top
    assert book.price(pod("gke-prod", cpus=2.0, memory_gib=10.0)).hourly == pytest.approx(
        2 * 0.05 + 10 * 0.02
    )


def test_a_skypilot_config_without_kubernetes_pricing_sets_none(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("kubernetes:\n  allowed_contexts: [gke-prod]\njobs:\n  controller: {}\n")
    assert read_skypilot_pricing(config) is None
    config.write_text("")
    assert read_skypilot_pricing(config) is None


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("kubernetes:\n  pricing:\n    gpu: 1.0\n", ["kubernetes.pricing.gpu: unknown key"]),
        (
            "kubernetes:\n  pricing:\n    cpu: -1\n    memory: -2\n",
            [
                "kubernetes.pricing.cpu: Input should be greater than or equal to 0",
                "kubernetes.pricing.memory: Input should be greater than or equal to 0",
            ],
        ),
        (
            "kubernetes:\n  context_configs:\n    ctx:\n      pricing:\n        accelerators: {L4: cheap}\n",
            [
                "kubernetes.context_configs.ctx.pricing.accelerators.L4: "
                "Input should be a valid number, unable to parse string as a number"
            ],
        ),
        ("kubernetes: [1, 2]\n", ["kubernetes: expected a mapping"]),
        ("kubernetes:\n  context_configs: [a]\n", ["kubernetes.context_configs: expected a mapping"]),
        ("kubernetes:\n  pricing: {cpu: [\n", ["not valid YAML at line 3, column 1"]),
        ("- just\n- a list\n", ["the top level must be a mapping"]),
    ],
)
def test_a_bad_skypilot_config_fails_with_the_file_and_the_key_path_in_it(
    tmp_path: Path, text: str, problems: list[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    with pytest.raises(SectionError) as raised:
        read_skypilot_pricing(config)
    assert raised.value.problems == tuple(("skypilot_config", f"{config}: {problem}") for problem in problems)


def test_a_missing_skypilot_config_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(SectionError) as raised:
        fixture_book(skypilot_config=tmp_path / "config.yaml")
    assert raised.value.problems == (
        ("skypilot_config", f"{tmp_path / 'config.yaml'}: cannot read: No such file or directory"),
    )

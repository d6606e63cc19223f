"""SkyPilot's display strings, checked against examples of the real 0.14 output."""

from simulator.catalog import Shape
from simulator.formatting import Resources, describe, infra_text, truncate_middle


def _res(
    shape: Shape, spot: bool = False, nodes: int = 1, zone: str | None = None, region: str = "r"
) -> Resources:
    return Resources(shape, region, zone, nodes, spot, 256, None, 8080)


def test_aws_spot_gpu_strings() -> None:
    display = describe(_res(Shape("AWS", "g6.xlarge", "L4", 1, 4, 16), spot=True, zone="us-east-2a"))
    assert (
        display.resources_str_full
        == "1x[spot](gpus=L4:1, cpus=4, mem=16, g6.xlarge, disk=256, ports=['8080'])"
    )
    assert display.resources_str == "1x[spot](gpus=L4:1, g6.xlarge, ...)"
    assert display.infra == "AWS (us-east-2a)"


def test_multi_node_and_long_instance_type() -> None:
    shape = Shape("Azure", "Standard_NC24ads_A100_v4", "A100-80GB", 1, 24, 220)
    display = describe(_res(shape, nodes=2, region="eastus"))
    assert display.resources_str_full.startswith(
        "2x(gpus=A100-80GB:1, cpus=24, mem=220, Standard_NC24ads_A100_v4,"
    )
    assert display.resources_str == "2x(gpus=A100-80GB:1, Standard_NC24ad..., ...)"
    assert display.infra == "Azure (eastus)"


def test_kubernetes_has_no_instance_type_and_context_as_region() -> None:
    display = describe(_res(Shape("Kubernetes", None, "L4", 1, 4, 16), region="onprem-gpu"))
    assert display.resources_str_full == "1x(gpus=L4:1, cpus=4, mem=16, disk=256, ports=['8080'])"
    assert display.resources_str == "1x(gpus=L4:1, cpus=4, mem=16, ...)"
    assert display.infra == "Kubernetes (onprem-gpu)"


def test_ssh_pool_names_a_pod_shaped_instance_type_and_drops_prefix() -> None:
    display = describe(_res(Shape("SSH", None, "H100", 8, 64, 512), region="ssh-pool1"))
    assert "64CPU--512GB--H100:8" in display.resources_str_full
    assert display.infra == "SSH (pool1)"


def test_cpu_only_shows_cpus_and_mem_in_both() -> None:
    display = describe(_res(Shape("GCP", "n2-standard-8", None, 0, 8, 32), zone="us-central1-a"))
    assert display.resources_str == "1x(cpus=8, mem=32, n2-standard-8, ...)"


def test_long_region_is_cut_in_the_middle_to_25() -> None:
    text = infra_text("Kubernetes", "gke_acme-ml-prod_us-central1-a_inference-gpu", None)
    assert text == "Kubernetes (gke_acme-ml...ference-gpu)"
    assert len(truncate_middle("x" * 40, 25)) == 25
    assert truncate_middle("short", 25) == "short"

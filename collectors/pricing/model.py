"""What a caller asks the price book (``PriceQuery``) and what it answers (``Price``).

An unpriced answer carries a short snake_case reason instead of a zero, so dashboards can show
which replicas are missing from the cost totals and why.
"""

from dataclasses import dataclass
from typing import Final, Literal

PriceSource = Literal["catalog", "override", "fixed", "unknown"]

# Why a query has no price.
NO_PLACEMENT: Final = "no_placement"  # the cloud is not known yet (e.g. a PENDING replica)
INCOMPLETE_RESOURCES: Final = "incomplete_resources"  # instance type, GPU count, cpus or nodes missing
NO_CATALOG: Final = "no_catalog"  # no vms.csv loaded for the cloud
UNKNOWN_INSTANCE_TYPE: Final = "unknown_instance_type"
UNKNOWN_REGION: Final = "unknown_region"  # the instance type is not offered in that region
UNKNOWN_ACCELERATOR: Final = "unknown_accelerator"  # no price row / rate for the accelerator
NO_PRICE: Final = "no_price"  # the on-demand price cell is empty
NO_SPOT_PRICE: Final = "no_spot_price"  # the spot price cell is empty
NO_KUBERNETES_PRICING: Final = "no_kubernetes_pricing"  # Kubernetes/SSH without kubernetes.pricing
NO_FIXED_PRICE: Final = "no_fixed_price"  # a bare-metal node with neither hourly nor monthly cost
NO_PRICE_BOOK: Final = "no_price_book"  # the collector was given no price book at all

HOURS_PER_MONTH: Final = 730.0  # the convention cloud providers use for monthly list prices


@dataclass(frozen=True, slots=True)
class PriceQuery:
    """Where a replica (or node) runs and on what; empty strings and None where unknown.

    ``cloud`` is lower-case. For Kubernetes ``context`` names the kubeconfig context; SkyServe
    reports it as the region (``ssh-<pool>`` for SSH node pools), so it may be left empty.
    """

    cloud: str
    region: str
    zone: str
    instance_type: str
    accelerator: str
    accelerators_per_node: float | None
    cpus: float | None
    memory_gib: float | None
    spot: bool
    nodes: int
    context: str = ""


@dataclass(frozen=True, slots=True)
class Price:
    """An hourly USD list price for the whole replica, or None with the reason it has none."""

    hourly: float | None
    source: PriceSource
    reason: str = ""


def unpriced(reason: str) -> Price:
    return Price(hourly=None, source="unknown", reason=reason)

"""Where a new replica lands: cloud, region, zone, shape, spot, and the address it gets."""

import random

from simulator.catalog import CLOUD_WEIGHTS, SHAPES, SPOT_CLOUDS, Shape, locations_for
from simulator.formatting import Resources
from simulator.state import Identity

# First octets that look like each provider's public ranges; owned hardware is on private nets.
_IP_PREFIXES: dict[str, tuple[str, ...]] = {
    "AWS": ("3", "18", "44", "54"),
    "GCP": ("34", "35"),
    "Azure": ("20", "40", "52"),
    "Kubernetes": ("10",),
    "SSH": ("192.168",),
}


def _pick_shape(shape_class: str, rng: random.Random) -> Shape:
    shapes = SHAPES[shape_class]
    weights = [CLOUD_WEIGHTS[s.cloud] / sum(1 for t in shapes if t.cloud == s.cloud) for s in shapes]
    return rng.choices(shapes, weights=weights)[0]


def choose_resources(identity: Identity, rng: random.Random) -> Resources:
    shape = _pick_shape(identity.shape_class, rng)
    location = rng.choice(locations_for(shape.cloud))
    zone = rng.choice(location.zones) if location.zones else None
    spot = shape.cloud in SPOT_CLOUDS and rng.random() < identity.spot_fraction
    return Resources(
        shape=shape,
        region=location.region,
        zone=zone,
        nodes=identity.nodes,
        spot=spot,
        disk_size=identity.disk_size,
        image_id=identity.image_id,
        port=identity.port,
    )


def choose_ip(cloud: str, rng: random.Random) -> str:
    prefix = rng.choice(_IP_PREFIXES[cloud])
    octets = 4 - prefix.count(".") - 1
    return ".".join([prefix, *(str(rng.randint(1, 254)) for _ in range(octets))])

"""Collectors are found through the ``skyserve_exporter.collectors`` entry-point group.

Built-ins register the same way as third-party plugins, so enabling one is a config section and
nothing else.
"""

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import cast

from exporter.collector import CollectorFactory

ENTRY_POINT_GROUP = "skyserve_exporter.collectors"


class RegistryError(Exception):
    pass


def discover() -> dict[str, CollectorFactory]:
    """Every installed collector by name; a plugin whose name disagrees with its entry is refused."""
    found: dict[str, CollectorFactory] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        factory = cast(CollectorFactory, entry.load())
        if factory.name != entry.name:
            raise RegistryError(
                f"entry point {entry.name!r} ({entry.value}) loads a collector named {factory.name!r}"
            )
        found[entry.name] = factory
    return dict(sorted(found.items()))


def describe(factories: Mapping[str, CollectorFactory]) -> str:
    return ", ".join(factories) or "(none installed)"

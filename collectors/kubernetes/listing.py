"""What a list of the clusters brings back, apart from the client that fetches it.

Kept free of the ``kubernetes`` package, which costs about 25 MB to import: the collector class
is loaded for every exporter (config validation, docs), the client only when the section is on.
"""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ContextListing:
    """One cluster's selected pods, and the nodes they are scheduled on (both slimmed, unvalidated)."""

    context: str
    pods: tuple[Any, ...]
    nodes: tuple[Any, ...]


@dataclass(frozen=True)
class ClusterListings:
    listings: tuple[ContextListing, ...]
    pages: int  # list requests made, restarts included
    restarts: int  # lists started again after a 410


@dataclass(frozen=True)
class ListQuery:
    namespaces: tuple[str, ...]  # empty: all namespaces
    selector: str
    page_size: int

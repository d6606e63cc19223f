"""What the collector knows about a node, and the node files re-read when they change on disk.

A node, before it is checked: identity, placement, price, and the targets its checks contact.

The node files are merged into one node set per run. A file is re-read when its inode, size or
modification time changes (editors that replace the file and editors that write in place are both
seen). A broken edit keeps the last good nodes in use, is logged once, and is counted
(``Build.skipped``) on every run until the file is fixed, so
``skyserve_exporter_records_skipped_total`` keeps rising while what is on disk is not what is
checked. At start a broken file is a config error instead.
"""

import ipaddress
import logging
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from collectors.pricing import Price
from exporter.config_errors import SectionError

SOURCE = "baremetal"
SPOT = "false"  # a fixed-price box is never preemptible
DUPLICATE_NODE = "duplicate_node"


@dataclass(frozen=True, slots=True)
class Target:
    """One thing a check contacts: an HTTP(S) GET when ``path`` is set, else a TCP connect."""

    host: str
    port: int
    path: str | None = None  # path and query, starting with "/"
    scheme: str = "http"

    @property
    def is_http(self) -> bool:
        return self.path is not None

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{url_host(self.host)}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}{self.path or ''}"

    def describe(self) -> str:
        return self.url if self.is_http else f"tcp://{url_host(self.host)}:{self.port}"


@dataclass(frozen=True, slots=True)
class HostedReplica:
    """A replica served from a node's port; its id is ``<node>:<port>``."""

    service_name: str
    replica_id: str
    port: int
    check: Target


@dataclass(frozen=True, slots=True)
class Node:
    """A node as configured. ``health`` passes when any of its targets passes."""

    name: str
    address: str
    cloud: str
    region: str
    zone: str
    instance_type: str
    accelerator: str
    accelerator_count: int
    price: Price
    health: tuple[Target, ...]
    replicas: tuple[HostedReplica, ...] = ()
    health_url: str = ""  # as configured, for the probes; empty when checked by TCP

    def targets(self) -> tuple[Target, ...]:
        return (*self.health, *(replica.check for replica in self.replicas))


@dataclass(frozen=True)
class NodeSet:
    """Nodes from one file (or all files), and records left out, by reason."""

    nodes: tuple[Node, ...]
    skipped: Mapping[str, int] = field(default_factory=dict)


def url_host(host: str) -> str:
    """The host as it goes in a URL: IPv6 literals in brackets."""
    try:
        is_v6 = isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)
    except ValueError:
        is_v6 = False
    return f"[{host}]" if is_v6 else host


def replica_id(node_name: str, port: int) -> str:
    return f"{node_name}:{port}"


class NodeFileError(ValueError):
    """A node file that cannot be used; ``problems`` are ``<path in the file>: <reason>`` lines, or
    just the reason for the file as a whole (not valid YAML, say)."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


Parser = Callable[[str], NodeSet]  # NodeFileError when the text is not usable


@dataclass(frozen=True, slots=True)
class FileStamp:
    device: int
    inode: int
    size: int
    mtime_ns: int


MISSING: Final = FileStamp(-1, -1, -1, -1)


def stamp_of(path: Path) -> FileStamp:
    try:
        info = os.stat(path)
    except OSError:
        return MISSING
    return FileStamp(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


class WatchedFile:
    """One node file and the nodes last read from it intact."""

    def __init__(
        self, what: str, path: Path, parse: Parser, invalid_reason: str, logger: logging.Logger
    ) -> None:
        """Read the file now; SectionError at ``what`` (the config key naming the file), one
        ``<file>: <path in it>: <reason>`` problem per mistake, when it is unusable."""
        self.what = what
        self.path = path
        self.invalid_reason = invalid_reason
        self._parse = parse
        self._logger = logger
        self._stamp = stamp_of(path)
        try:
            self._nodes = self._read()
        except ValueError as exc:
            problems = exc.problems if isinstance(exc, NodeFileError) else [str(exc)]
            raise SectionError.of([(what, f"{path}: {problem}") for problem in problems]) from None
        self._broken_stamp: FileStamp | None = None

    def current(self) -> tuple[NodeSet, bool]:
        """The nodes in use, and whether the file on disk is broken (and so not what is in use)."""
        stamp = stamp_of(self.path)
        if stamp == self._stamp:
            return self._nodes, False
        if stamp == self._broken_stamp:
            return self._nodes, True
        try:
            nodes = self._read()
        except ValueError as exc:
            self._broken_stamp = stamp
            self._logger.warning(
                "node file is not usable; keeping the nodes last read from it",
                extra={"collector": "baremetal", "path": str(self.path), "error": str(exc)},
            )
            return self._nodes, True
        self._stamp, self._nodes, self._broken_stamp = stamp, nodes, None
        self._logger.info(
            "node file reloaded",
            extra={"collector": "baremetal", "path": str(self.path), "nodes": len(nodes.nodes)},
        )
        return nodes, False

    def _read(self) -> NodeSet:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise NodeFileError([f"cannot read: {exc.strerror or type(exc).__name__}"]) from None
        except UnicodeDecodeError:
            raise NodeFileError(["cannot read: not UTF-8 text"]) from None
        return self._parse(text)


class NodeSource:
    """Every watched file's nodes; a name already taken by an earlier file is skipped and counted."""

    def __init__(self, files: Sequence[WatchedFile]) -> None:
        self._files = tuple(files)

    def current(self) -> NodeSet:
        skipped: Counter[str] = Counter()
        nodes: dict[str, Node] = {}
        for watched in self._files:
            found, broken = watched.current()
            skipped.update(found.skipped)
            if broken:
                skipped[watched.invalid_reason] += 1
            for node in found.nodes:
                if node.name in nodes:
                    skipped[DUPLICATE_NODE] += 1
                else:
                    nodes[node.name] = node
        return NodeSet(nodes=tuple(nodes.values()), skipped=dict(skipped))

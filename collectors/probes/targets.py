"""The targets the exporter knows: static ones from config and the endpoints discovered right now.

It answers two questions: what one round probes, and whether a ``/probe?target=`` names a known
target. The second is what keeps ``/probe`` from being an open proxy: a target is either a
configured name or, after normalisation, exactly a discovered endpoint's URL (or the URL the
exporter probes for it); anything else is refused before any network I/O.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from collectors.probes.addresses import UrlKey, join_path, url_key
from collectors.probes.config import DiscoverConfig, StaticTarget
from collectors.probes.model import ProbeTarget
from collectors.probes.modules import Module
from exporter.collector import Endpoint
from exporter.redact import redact_url

Discovered = Callable[[], tuple[Endpoint, ...]]


@dataclass(frozen=True)
class _Known:
    """Discovered targets in discovery order, and keyed by both the endpoint's URL and the URL
    probed for it (either may be passed to ``/probe``)."""

    endpoints: tuple[Endpoint, ...] = ()
    targets: tuple[ProbeTarget, ...] = ()
    by_url: Mapping[UrlKey, ProbeTarget] = field(default_factory=dict)


class Refused(Exception):
    """A ``/probe`` request the exporter will not perform; the message is safe to send back."""


class TargetBook:
    def __init__(
        self,
        discover: DiscoverConfig,
        static: tuple[StaticTarget, ...],
        modules: Mapping[str, Module],
        discovered: Discovered,
    ) -> None:
        self._discover = discover
        self._module = modules[discover.module]
        self._discovered = discovered
        self._static = {t.name: _static_target(t) for t in static}
        # The last endpoints seen and their index: rebuilt only when discovery changes.
        self._known = _Known()

    def targets(self) -> tuple[ProbeTarget, ...]:
        """What one round probes: static targets, then discovered endpoints; each series once."""
        found: dict[tuple[str, ...], ProbeTarget] = {}
        for target in (*self._static.values(), *self._current().targets):
            found.setdefault(target.labels, target)
        return tuple(found.values())

    def lookup(self, target: str, module: str = "") -> ProbeTarget:
        """The known target ``target`` names; Refused if none, or if ``module`` is not its module."""
        known = self._static.get(target)
        if known is None:
            key = url_key(target)
            known = self._current().by_url.get(key) if key is not None else None
        if known is None:
            raise Refused("unknown target: only configured and discovered targets are probed")
        if module and module != known.module:
            raise Refused(f"module {module!r} is not the module configured for this target")
        return known

    def _current(self) -> _Known:
        endpoints = self._discovered()
        known = self._known
        if endpoints != known.endpoints:
            known = self._index(endpoints)
            self._known = known  # one reference swap: concurrent readers see old or new, whole
        return known

    def _index(self, endpoints: tuple[Endpoint, ...]) -> _Known:
        targets: list[ProbeTarget] = []
        by_url: dict[UrlKey, ProbeTarget] = {}
        for endpoint in endpoints:
            if not self._wanted(endpoint):
                continue
            target = self._discovered_target(endpoint)
            targets.append(target)
            for key in (url_key(target.url), url_key(endpoint.url)):
                if key is not None:
                    by_url.setdefault(key, target)
        return _Known(endpoints, tuple(targets), by_url)

    def _wanted(self, endpoint: Endpoint) -> bool:
        flags = {"service": self._discover.services, "replica": self._discover.replicas}
        flags["node"] = self._discover.nodes
        return flags.get(endpoint.kind, False)

    def _discovered_target(self, endpoint: Endpoint) -> ProbeTarget:
        # Service and replica endpoints are bases (the load balancer, the replica's server);
        # a node's health URL is already the full URL to probe.
        appends = endpoint.kind != "node" and self._module.prober_name == "http"
        url = join_path(endpoint.url, self._module.path) if appends else endpoint.url
        return ProbeTarget(
            label=redact_url(url),
            url=url,
            module=self._module.name,
            kind=endpoint.kind,
            service_name=endpoint.service_name,
            replica_id=endpoint.replica_id,
        )


def _static_target(target: StaticTarget) -> ProbeTarget:
    return ProbeTarget(
        label=target.name,
        url=target.url,
        module=target.module,
        kind="static",
        service_name=target.service_name,
    )

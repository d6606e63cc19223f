"""``/probe?target=NAME&module=M``: blackbox_exporter's multi-target endpoint, for known targets only.

blackbox's ``/probe`` fetches whatever it is asked to (an open proxy by design, CVE-2020-16248).
This one probes only what the exporter would probe anyway: the ``TargetBook`` knows the static
targets from config and the endpoints discovered right now, and says both what one round probes
and whether a ``/probe?target=`` names a known target. A target is either a configured name or,
after normalisation, exactly a discovered endpoint's URL (or the URL the exporter probes for it);
anything else is a 400 before any network I/O, and the error never echoes the target (it may hold
credentials).
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from collectors.probes.config import DiscoverConfig, StaticTarget
from collectors.probes.metrics import CONTENT_TYPE, blackbox_exposition
from collectors.probes.modules import Module
from collectors.probes.targets import ProbeTarget, UrlKey, join_path, url_key
from exporter.collector import Endpoint
from exporter.redact import redact_url
from exporter.sharding import UNSHARDED, Shard

# blackbox's defaults: no header means a 120 s scrape timeout, and 0.5 s is kept for the answer.
DEFAULT_SCRAPE_TIMEOUT_SECONDS = 120.0
TIMEOUT_OFFSET_SECONDS = 0.5
_ERROR_CONTENT_TYPE = "text/plain; charset=utf-8"

Answer = tuple[int, bytes, str]  # HTTP status, body, content type
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
    """The targets the exporter knows: static ones from config and the endpoints discovered right now."""

    def __init__(
        self,
        discover: DiscoverConfig,
        static: tuple[StaticTarget, ...],
        modules: Mapping[str, Module],
        discovered: Discovered,
        shard: Callable[[], Shard] = lambda: UNSHARDED,
    ) -> None:
        self._shard = shard
        self._discover = discover
        self._module = modules[discover.module]
        self._discovered = discovered
        self._static = {t.name: _static_target(t) for t in static}
        # The last endpoints seen and their index: rebuilt only when discovery changes.
        self._known = _Known()

    @property
    def discovers(self) -> bool:
        """Whether any discovered endpoint kind is probed (else only static targets are)."""
        return self._discover.services or self._discover.replicas or self._discover.nodes

    def targets(self) -> tuple[ProbeTarget, ...]:
        """What one round probes: static targets, then discovered endpoints; each series once.

        Sharded, a static target is probed by the shard that owns its name, and a discovered
        endpoint by the shard that discovered it: its collector handed only the endpoints of what
        that shard owns (a service's endpoints by the service, a node's by the node), so a probe's
        series sit in the shard of the service they are about.
        """
        owns = self._shard().owner()
        static = [target for name, target in self._static.items() if owns(name)]
        found: dict[tuple[str, ...], ProbeTarget] = {}
        for target in (*static, *self._current().targets):
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


def probe_timeout(module_timeout: float, scrape_timeout_header: str | None) -> float:
    """blackbox's getTimeout: the module's timeout, capped by the scrape timeout minus the offset."""
    scrape = float(scrape_timeout_header) if scrape_timeout_header else 0.0
    if not math.isfinite(scrape) or scrape < 0:
        raise ValueError("X-Prometheus-Scrape-Timeout-Seconds must be a non-negative number")
    limit = (scrape or DEFAULT_SCRAPE_TIMEOUT_SECONDS) - TIMEOUT_OFFSET_SECONDS
    if limit <= 0 or 0 < module_timeout < limit:
        return module_timeout
    return limit


@dataclass(frozen=True)
class ProbeEndpoint:
    book: TargetBook
    modules: Mapping[str, Module]

    def serve(self, query: Mapping[str, str], headers: Mapping[str, str]) -> Answer:
        """``GET /probe?target=...&module=...``, as blackbox_exporter takes it."""
        scrape_timeout = headers.get("x-prometheus-scrape-timeout-seconds")
        return self.handle(query.get("target", ""), query.get("module", ""), scrape_timeout)

    def handle(self, target: str, module: str, scrape_timeout: str | None) -> Answer:
        """Probe a known target now and answer in blackbox's format; a failed probe is still a 200."""
        if not target:
            return _refuse("Target parameter is missing")
        if module and module not in self.modules:
            return _refuse("Unknown module")
        try:
            known = self.book.lookup(target, module)
            timeout = probe_timeout(self.modules[known.module].timeout, scrape_timeout)
        except (Refused, ValueError) as exc:
            return _refuse(str(exc))
        result = self.modules[known.module].run(known.url, timeout)
        return 200, blackbox_exposition(result), CONTENT_TYPE


def _refuse(message: str) -> Answer:
    return 400, f"{message}\n".encode(), _ERROR_CONTENT_TYPE

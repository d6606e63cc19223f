"""``/probe?target=NAME&module=M``: blackbox_exporter's multi-target endpoint, for known targets only.

blackbox's ``/probe`` fetches whatever it is asked to (an open proxy by design, CVE-2020-16248).
This one probes only what the exporter would probe anyway; anything else is a 400 before any
network I/O, and the error never echoes the target (it may hold credentials).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

from collectors.probes.blackbox_format import CONTENT_TYPE, blackbox_exposition
from collectors.probes.modules import Module
from collectors.probes.targets import Refused, TargetBook

# blackbox's defaults: no header means a 120 s scrape timeout, and 0.5 s is kept for the answer.
DEFAULT_SCRAPE_TIMEOUT_SECONDS = 120.0
TIMEOUT_OFFSET_SECONDS = 0.5
_ERROR_CONTENT_TYPE = "text/plain; charset=utf-8"

Answer = tuple[int, bytes, str]  # HTTP status, body, content type


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

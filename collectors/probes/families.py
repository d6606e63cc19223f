"""Probe results as samples of the declared families."""

from collectors.probes.model import PHASES, ProbeResult, ProbeTarget
from exporter.metrics import FamilyBuilder


def add_result(out: FamilyBuilder, target: ProbeTarget, result: ProbeResult) -> None:
    labels = target.labels
    out.add("skyserve_probe_success", labels, 1.0 if result.success else 0.0)
    out.add("skyserve_probe_duration_seconds", labels, result.duration)
    if result.prober == "http":
        out.add("skyserve_probe_http_status_code", labels, result.status_code)
        for phase in PHASES:
            out.add("skyserve_probe_http_duration_seconds", (*labels, phase), result.phases.get(phase, 0.0))
    if result.cert_expiry is not None:
        out.add("skyserve_probe_ssl_earliest_cert_expiry_timestamp_seconds", labels, result.cert_expiry)

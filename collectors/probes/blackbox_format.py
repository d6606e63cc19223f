"""A probe result as blackbox_exporter's ``/probe`` answers it: its names, no target labels.

Prometheus's multi-target pattern relabels the target in; dashboards and alerts written for
blackbox_exporter keep working against ``/probe``.
"""

from prometheus_client.core import GaugeMetricFamily, Metric

from collectors.probes.model import PHASES, ProbeResult
from exporter.series import Format, encode_families

CONTENT_TYPE = Format.TEXT.content_type


def blackbox_families(result: ProbeResult) -> list[Metric]:
    """The families blackbox's http and tcp probers emit that ours measure, sorted by name as its
    registry gathers them."""
    families: list[Metric] = [
        GaugeMetricFamily(
            "probe_duration_seconds",
            "Returns how long the probe took to complete in seconds",
            result.duration,
        ),
        GaugeMetricFamily(
            "probe_success", "Displays whether or not the probe was a success", 1.0 if result.success else 0.0
        ),
    ]
    if result.prober == "http":
        phases = GaugeMetricFamily(
            "probe_http_duration_seconds",
            "Duration of http request by phase, summed over all redirects",
            labels=["phase"],
        )
        for phase in PHASES:
            phases.add_metric([phase], result.phases.get(phase, 0.0))
        families.append(phases)
        families.append(
            GaugeMetricFamily("probe_http_status_code", "Response HTTP status code", result.status_code)
        )
    if result.cert_expiry is not None:
        families.append(
            GaugeMetricFamily(
                "probe_ssl_earliest_cert_expiry",
                "Returns earliest SSL cert expiry in unixtime",
                result.cert_expiry,
            )
        )
    return sorted(families, key=lambda family: family.name)


def blackbox_exposition(result: ProbeResult) -> bytes:
    return encode_families(Format.TEXT, blackbox_families(result))

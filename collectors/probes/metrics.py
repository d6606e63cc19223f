"""The probes' metrics: the family table, a result as its samples, and blackbox_exporter's ``/probe`` format.

The table is blackbox_exporter's families, per target, with fleet labels. ``/probe`` answers with
blackbox's own names and no target labels: Prometheus's multi-target pattern relabels the target
in, and dashboards and alerts written for blackbox_exporter keep working against it.
"""

from collections.abc import Mapping
from types import MappingProxyType

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from collectors.probes.targets import PHASES, ProbeResult, ProbeTarget
from exporter.metrics import FamilyBuilder, MetricSpec, MetricTable
from exporter.series import Format

CONTENT_TYPE = Format.TEXT.content_type
TARGET_LABELS = ("target", "service_name", "replica_id", "kind")

PROBES_METRICS = MetricTable(
    specs=(
        MetricSpec(
            "skyserve_probe_success",
            "gauge",
            "1 if the last probe of the target succeeded, else 0 (blackbox_exporter's probe_success).",
            TARGET_LABELS,
        ),
        MetricSpec(
            "skyserve_probe_duration_seconds",
            "gauge",
            "How long the last probe took in all, redirects included.",
            TARGET_LABELS,
        ),
        MetricSpec(
            "skyserve_probe_http_status_code",
            "gauge",
            "HTTP status of the final response after redirects; 0 when none arrived. HTTP probes only.",
            TARGET_LABELS,
        ),
        MetricSpec(
            "skyserve_probe_http_duration_seconds",
            "gauge",
            "Duration of the HTTP probe by phase (resolve, connect, tls, processing, transfer), summed "
            "over redirects. HTTP probes only.",
            (*TARGET_LABELS, "phase"),
        ),
        MetricSpec(
            "skyserve_probe_ssl_earliest_cert_expiry_timestamp_seconds",
            "gauge",
            "Unix time at which the earliest certificate the target presented expires (the leaf "
            "certificate before Python 3.13); only when the probe used TLS.",
            TARGET_LABELS,
        ),
    )
)


def add_result(out: FamilyBuilder, target: ProbeTarget, result: ProbeResult) -> None:
    """A probe result as samples of the table's families, labelled with its target."""
    labels = target.labels
    out.add("skyserve_probe_success", labels, 1.0 if result.success else 0.0)
    out.add("skyserve_probe_duration_seconds", labels, result.duration)
    if result.prober == "http":
        out.add("skyserve_probe_http_status_code", labels, result.status_code)
        for phase in PHASES:
            out.add("skyserve_probe_http_duration_seconds", (*labels, phase), result.phases.get(phase, 0.0))
    if result.cert_expiry is not None:
        out.add("skyserve_probe_ssl_earliest_cert_expiry_timestamp_seconds", labels, result.cert_expiry)


# blackbox's help texts, by family name.
_HELP: Mapping[str, str] = MappingProxyType(
    {
        "probe_duration_seconds": "Returns how long the probe took to complete in seconds",
        "probe_success": "Displays whether or not the probe was a success",
        "probe_http_duration_seconds": "Duration of http request by phase, summed over all redirects",
        "probe_http_status_code": "Response HTTP status code",
        "probe_ssl_earliest_cert_expiry": "Returns earliest SSL cert expiry in unixtime",
    }
)
# "# HELP" and "# TYPE" lines of each family, as prometheus_client writes them.
_HEADS: Mapping[str, str] = MappingProxyType(
    {name: f"# HELP {name} {text}\n# TYPE {name} gauge\n" for name, text in _HELP.items()}
)


def blackbox_families(result: ProbeResult) -> list[Metric]:
    """The families blackbox's http and tcp probers emit that ours measure, sorted by name as its
    registry gathers them. ``blackbox_exposition`` writes the same text without building them."""
    families: list[Metric] = [
        GaugeMetricFamily("probe_duration_seconds", _HELP["probe_duration_seconds"], result.duration),
        GaugeMetricFamily("probe_success", _HELP["probe_success"], 1.0 if result.success else 0.0),
    ]
    if result.prober == "http":
        phases = GaugeMetricFamily(
            "probe_http_duration_seconds", _HELP["probe_http_duration_seconds"], labels=["phase"]
        )
        for phase in PHASES:
            phases.add_metric([phase], result.phases.get(phase, 0.0))
        families.append(phases)
        families.append(
            GaugeMetricFamily("probe_http_status_code", _HELP["probe_http_status_code"], result.status_code)
        )
    if result.cert_expiry is not None:
        families.append(
            GaugeMetricFamily(
                "probe_ssl_earliest_cert_expiry", _HELP["probe_ssl_earliest_cert_expiry"], result.cert_expiry
            )
        )
    return sorted(families, key=lambda family: family.name)


def blackbox_exposition(result: ProbeResult) -> bytes:
    """``blackbox_families(result)`` in the text format, written directly: the same bytes as
    prometheus_client's encoder writes for them, for a fraction of its work (it runs per ``/probe``)."""
    out = [_HEADS["probe_duration_seconds"], f"probe_duration_seconds {_number(result.duration)}\n"]
    if result.prober == "http":
        out.append(_HEADS["probe_http_duration_seconds"])
        for phase in PHASES:
            value = _number(result.phases.get(phase, 0.0))
            out.append(f'probe_http_duration_seconds{{phase="{phase}"}} {value}\n')
        out += [_HEADS["probe_http_status_code"], f"probe_http_status_code {_number(result.status_code)}\n"]
    if result.cert_expiry is not None:
        expiry = _number(result.cert_expiry)
        out += [_HEADS["probe_ssl_earliest_cert_expiry"], f"probe_ssl_earliest_cert_expiry {expiry}\n"]
    out += [_HEADS["probe_success"], f"probe_success {'1.0' if result.success else '0.0'}\n"]
    return "".join(out).encode()


def _number(value: float) -> str:
    """prometheus_client's number formatting, which is not type-annotated upstream."""
    return floatToGoString(value)  # type: ignore[no-untyped-call,no-any-return]

"""The probes collector's metric families: blackbox_exporter's, per target, with fleet labels."""

from exporter.metrics import MetricSpec, MetricTable

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

"""skyserve-exporter: a Prometheus exporter for model-serving fleets that span clouds."""

__version__ = "0.1.0"

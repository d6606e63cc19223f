"""Blackbox-style probes of the endpoints the other collectors discover and of configured targets."""

from collectors.probes.collector import ProbesCollector
from collectors.probes.config import ModuleConfig, ProbesConfig
from collectors.probes.endpoint import ProbeEndpoint
from collectors.probes.metrics import PROBES_METRICS

__all__ = ["PROBES_METRICS", "ModuleConfig", "ProbeEndpoint", "ProbesCollector", "ProbesConfig"]

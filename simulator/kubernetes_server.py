"""The simulated Kubernetes API as one more loopback server of the Simulator, with its kubeconfig."""

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from simulator.counter import RequestCounter
from simulator.faults import Fault, FaultSwitch
from simulator.kubernetes_api import KubernetesApiApp
from simulator.kubernetes_cluster import KubeFleet
from simulator.kubernetes_config import write_kubeconfig

KUBECONFIG_NAME = "kubeconfig"


class KubernetesEndpoint:
    """The clusters, the API app over them, and (once started) the kubeconfig that reaches them."""

    def __init__(self, fleet: KubeFleet, token: str | None) -> None:
        self.fleet = fleet
        self.faults = FaultSwitch()
        self.counter = RequestCounter()
        self.app = KubernetesApiApp(fleet, self.faults, self.counter, token)
        self._token = token
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self.url = ""
        self.kubeconfig: Path | None = None

    def started(self, url: str) -> None:
        """Record where it is served and write a kubeconfig for it into a private temp directory."""
        self.url = url
        self._dir = tempfile.TemporaryDirectory(prefix="skyserve-sim-kube-")
        path = Path(self._dir.name) / KUBECONFIG_NAME
        self.kubeconfig = write_kubeconfig(path, url, self.fleet.contexts, self._token)

    def stop(self) -> None:
        self.faults.close()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def set_fault(self, fault: Fault, delay: float = 0.0) -> None:
        self.faults.set(fault, delay)

    def requests(self) -> Counter[str]:
        return self.counter.snapshot()

    def wsgi(self) -> Any:
        return self.app

"""Asking SkyPilot itself for prices: the oracle the price book is checked against.

SkyPilot runs in a subprocess (``skypilot_oracle.py``) with HOME pointing at a directory holding
the catalogs and config.yaml under test, so it reads exactly what the price book reads. Its own
cost report is ``launched_resources.get_cost(duration) * launched_nodes`` (``sky/core.py``): the
per-node ``get_cost(3600)`` times the node count.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from collectors.pricing import PriceQuery

SKYPILOT_VERSION = "0.14.1"
ORACLE = Path(__file__).parent / "skypilot_oracle.py"
# SkyPilot downloads a missing catalog from the network; nothing here should need one, and a hung
# download must fail the test rather than stall the suite.
ORACLE_TIMEOUT_SECONDS = 180
# Any HTTP(S) request SkyPilot makes goes to this closed port and fails at once.
DEAD_PROXY = "http://127.0.0.1:9"


@dataclass(frozen=True)
class Case:
    name: str
    query: PriceQuery
    infra: str
    instance_type: str
    accelerators: str | None = None

    def sky_spec(self) -> dict[str, Any]:
        return {
            "infra": self.infra,
            "instance_type": self.instance_type,
            "accelerators": self.accelerators,
            "use_spot": self.query.spot,
        }


def k8s_type(cpus: int, memory: int, accelerator: str = "", count: int = 0) -> str:
    """SkyPilot's virtual Kubernetes instance type name (KubernetesInstanceType.name)."""
    name = f"{cpus}CPU--{memory}GB"
    return f"{name}--{accelerator}:{count}" if accelerator else name


def install(home: Path, catalogs: Path, config: Path | None = None) -> Path:
    """``home/.sky`` holding the catalogs (and config.yaml) as SkyPilot expects them."""
    shutil.copytree(catalogs, home / ".sky" / "catalogs" / "v8")
    if config is not None:
        shutil.copy(config, home / ".sky" / "config.yaml")
    return home / ".sky"


def ask_skypilot(home: Path, cases: Sequence[Case]) -> dict[str, Any]:
    """Run SkyPilot with ``home`` as HOME on ``cases``; fails loudly when SkyPilot is not installed."""
    if importlib.util.find_spec("sky") is None:
        pytest.fail(
            f"SkyPilot is not installed in this environment ({sys.executable}); the oracle tests need it. "
            "Install the test extras (pip install -e '.[test]'), "
            f"or pip install 'skypilot=={SKYPILOT_VERSION}'."
        )
    completed = subprocess.run(
        [sys.executable, str(ORACLE)],
        input=json.dumps([case.sky_spec() for case in cases]),
        capture_output=True,
        text=True,
        env=_sky_environment(home),
        timeout=ORACLE_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, f"SkyPilot oracle failed:\n{completed.stderr[-4000:]}"
    answer: dict[str, Any] = json.loads(completed.stdout)
    assert answer["version"] == SKYPILOT_VERSION, (
        f"the oracle is SkyPilot {SKYPILOT_VERSION}, got {answer['version']}"
    )
    answer["results"] = {case.name: result for case, result in zip(cases, answer["results"], strict=True)}
    return answer


def _sky_environment(home: Path) -> Mapping[str, str]:
    """No credentials, no cloud CLIs, and a dead proxy: SkyPilot must price from the files alone.

    SkyPilot asks the ``aws`` CLI for an identity when it maps AWS zones (``aws configure list``,
    then a call to AWS); with only the interpreter's and the system's directories on PATH it finds
    no CLI, and any HTTP request it still makes fails at once on the closed proxy port.
    """
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SKYPILOT_", "SKY_", "KUBECONFIG", "AWS_", "GOOGLE_", "AZURE_"))
        and key.lower() not in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    }
    return {
        **inherited,
        "HOME": str(home),
        "PATH": os.pathsep.join((str(Path(sys.executable).parent), os.defpath)),
        "HTTP_PROXY": DEAD_PROXY,
        "HTTPS_PROXY": DEAD_PROXY,
        "SKYPILOT_DISABLE_USAGE_COLLECTION": "1",
    }

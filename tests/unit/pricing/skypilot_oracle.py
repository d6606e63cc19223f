"""Run by the oracle tests in a subprocess: price cases with SkyPilot itself.

Reads a JSON list of cases on stdin, each ``{"infra", "instance_type", "accelerators", "use_spot"}``,
and prints ``{"version", "catalog_url", "catalog_mirror_url", "results"}`` where each result is
``{"hourly": float}`` (one node's ``sky.Resources(...).get_cost(3600)``) or ``{"error": str}``.
A subprocess, because SkyPilot reads ``$HOME/.sky`` when imported and the test must point HOME at
its fixtures first.
"""

import importlib
import json
import sys
from typing import Any


def main() -> None:
    sky = importlib.import_module("sky")
    constants = importlib.import_module("sky.skylet.constants")
    version = constants.CATALOG_SCHEMA_VERSION
    cases = json.load(sys.stdin)
    answer = {
        "version": sky.__version__,
        "catalog_url": f"{constants.HOSTED_CATALOG_DIR_URL}/{version}",
        "catalog_mirror_url": f"{constants.HOSTED_CATALOG_DIR_URL_S3_MIRROR}/{version}",
        "results": [_cost(sky, case) for case in cases],
    }
    json.dump(answer, sys.stdout)


def _cost(sky: Any, case: dict[str, Any]) -> dict[str, Any]:
    try:
        resources = sky.Resources(
            infra=case["infra"],
            instance_type=case["instance_type"],
            accelerators=case.get("accelerators"),
            use_spot=case.get("use_spot", False),
        )
        return {"hourly": float(resources.get_cost(3600))}
    except Exception as exc:  # reported back to the test, which decides whether it was expected
        return {"error": f"{type(exc).__name__}: {exc}"}


if __name__ == "__main__":
    main()

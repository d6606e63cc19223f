"""Golden exposition of the SkyServe collector, built from the recorded /api/get fixtures
(serve.status's services, status's controllers and jobs.pool_status's pools).

The rendered text exposition must equal ``golden/skyserve.prom`` byte for byte. When a change to
the exposition is intended, regenerate the file with::

    UPDATE_GOLDEN=1 PYTHONPATH=$PWD python -m pytest tests/unit/skyserve/test_skyserve_golden.py

and review the diff before committing it.
"""

from dataclasses import replace
from pathlib import Path

from collectors.pricing import PriceBook, PricingConfig
from collectors.skyserve.client import ControllerAnswer, PoolAnswer, ServeStatusAnswer, decode_list
from collectors.skyserve.collector import Polled, SkyServeCollector
from simulator.demo import demo_catalog_dir
from tests.unit.golden import assert_golden, exposition
from tests.unit.skyserve.helpers import ENDPOINT, context, load, recorded_services

GOLDEN = Path(__file__).parent / "golden" / "skyserve.prom"
NOW = 1_795_830_000.0
INTERVAL = 30.0
UPSTREAM = {"version": "0.14.1", "api_version": "62"}


def _collector() -> SkyServeCollector:
    prices = PriceBook.from_config(PricingConfig(catalog_dir=demo_catalog_dir()))
    made = SkyServeCollector.from_config(
        {"endpoint": ENDPOINT, "interval": "30s"}, replace(context(), offered=lambda: (prices,))
    )
    assert isinstance(made, SkyServeCollector)
    return made


def _polled() -> Polled:
    controllers = decode_list(load("api_get_status_controllers.json")["return_value"], "status")
    pools = decode_list(load("api_get_pool_status.json")["return_value"], "jobs.pool_status")
    answer = ServeStatusAnswer(
        services=tuple(recorded_services()),
        upstream=UPSTREAM,
        controllers=ControllerAnswer(records=tuple(controllers)),
        pools=PoolAnswer(records=tuple(pools)),
    )
    return Polled.decode(answer)


def test_exposition_matches_the_golden_file() -> None:
    collector = _collector()
    # Two polls one interval apart on a fixed clock, so the accrued-cost counters hold a value.
    collector.build(_polled(), NOW - INTERVAL)
    build = collector.build(_polled(), NOW)
    assert_golden(exposition(build.families), GOLDEN)

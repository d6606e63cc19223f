"""``body_size_limit`` on http modules, as in blackbox: a longer body fails the probe.

A trickling body is bounded by the module's timeout (test_probes_http); this bounds a fast one.
"""

from typing import Any

import pytest
from pydantic import ValidationError

from collectors.probes.config import DEFAULT_MODULE_NAME, ModuleConfig, ProbesConfig
from collectors.probes.modules import compile_module, compile_modules
from collectors.probes.targets import ProbeResult
from tests.unit.probes.servers import BIG_BODY_BYTES, LoopbackServer


def probe(url: str, **config: Any) -> ProbeResult:
    return compile_module("test", ModuleConfig.model_validate(config), {}).run(url)


def test_a_body_past_the_modules_limit_fails_the_probe(server: LoopbackServer) -> None:
    result = probe(server.url("/big"), body_size_limit="1MiB")
    assert not result.success
    assert result.status_code == 200  # the head arrived; as in blackbox, the status stays
    assert "body_size_limit (1MiB)" in result.failure


def test_a_body_within_the_limit_passes(server: LoopbackServer) -> None:
    assert BIG_BODY_BYTES <= 4 * 2**20
    assert probe(server.url("/big"), body_size_limit="4MiB").success
    assert probe(server.url("/ok"), body_size_limit=2).success


def test_a_module_without_a_limit_takes_the_sections(server: LoopbackServer) -> None:
    config = ProbesConfig.model_validate(
        {"body_size_limit": "1MiB", "modules": {"roomy": {"body_size_limit": "8MiB"}}}
    )
    modules = compile_modules(config, {})
    failed = modules[DEFAULT_MODULE_NAME].run(server.url("/big"))
    assert not failed.success and "body_size_limit (1MiB)" in failed.failure
    assert modules["roomy"].run(server.url("/big")).success


def test_body_size_limit_is_an_http_setting() -> None:
    with pytest.raises(ValidationError, match="body_size_limit: not a setting of the tcp prober"):
        ModuleConfig.model_validate({"prober": "tcp", "body_size_limit": "1MiB"})
    with pytest.raises(ValidationError, match="size"):
        ModuleConfig.model_validate({"body_size_limit": "lots"})

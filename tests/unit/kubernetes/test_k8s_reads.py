"""Reading list answers defensively, through the real ``kubernetes`` client on loopback.

A trickling page ends at the collection's timeout, a page past ``body_size_limit`` (compressed or
not) and JSON nested too deeply are ``parse`` failures, and a pod or node whose label texts cannot
be written as UTF-8 is skipped and counted while the rest of the cluster is exported.
"""

import gzip
import json
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from collectors.kubernetes.client import KubernetesClient, ListQuery, resolve_targets
from collectors.kubernetes.config import KubernetesConfig
from collectors.kubernetes.records import BAD_ENCODING
from exporter.errors import UpstreamParseError, UpstreamTimeout, UpstreamUnavailable
from exporter.series import Format, encode_families
from tests.unit.kubernetes.fixtures import collector, gke_node, pod, pod_list, samples, write_kubeconfig

NOW = 1_795_830_000.0
DEEP = "[" * 100_000 + "]" * 100_000
LONE = "\ud800"  # a lone surrogate: JSON's "\ud800" escape decodes to it, UTF-8 cannot hold it

Handler = Callable[[Request], Response]


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Handler:
    text = body if isinstance(body, str | bytes) else json.dumps(body)
    return lambda _: Response(text, status=status, content_type="application/json", headers=headers)


def _serve(server: HTTPServer, pods: Handler, nodes: Handler | None = None) -> str:
    server.expect_request("/api/v1/pods").respond_with_handler(pods)
    server.expect_request("/api/v1/nodes").respond_with_handler(nodes or _json(pod_list([], kind="NodeList")))
    return server.url_for("").rstrip("/")


def _kubeconfig(tmp_path: Path, base: str) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", {"prod": base})


def _client(tmp_path: Path, base: str, timeout: float = 10.0, **kwargs: Any) -> KubernetesClient:
    config = KubernetesConfig(kubeconfig=_kubeconfig(tmp_path, base), contexts=("prod",))
    return KubernetesClient(resolve_targets(config, {}), ListQuery((), "", 500), timeout, {}, **kwargs)


def test_a_list_within_the_cap_still_reads(server: HTTPServer, tmp_path: Path) -> None:
    base = _serve(server, _json(pod_list([pod("a"), pod("b")])))
    (listing,) = _client(tmp_path, base, body_size_limit=64 * 1024).fetch().listings
    assert [p["metadata"]["name"] for p in listing.pods] == ["a", "b"]


def test_a_trickling_page_ends_at_the_timeout(server: HTTPServer, tmp_path: Path) -> None:
    def trickle(_: Request) -> Response:
        def spaces() -> Iterator[bytes]:
            for _ in range(30):
                yield b" "
                time.sleep(1.0)

        return Response(spaces(), content_type="application/json")

    base = _serve(server, trickle)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match="context prod: list pods"):
        _client(tmp_path, base, timeout=2.0).fetch()
    # 30 bytes at one a second would take 30 s; the budget is 2 s.
    assert time.monotonic() - started < 2.0 + 3.0


def test_a_page_past_body_size_limit_is_a_parse_error(server: HTTPServer, tmp_path: Path) -> None:
    base = _serve(server, _json(pod_list([pod(f"p{i}") for i in range(20)])))
    with pytest.raises(UpstreamParseError) as raised:
        _client(tmp_path, base, body_size_limit=1024).fetch()
    assert "context prod: list pods" in str(raised.value)
    assert "body_size_limit (1KiB)" in str(raised.value)


def test_an_endless_page_without_content_length_is_cut_at_the_limit(
    server: HTTPServer, tmp_path: Path
) -> None:
    def endless(_: Request) -> Response:
        # 1 GiB in 1 MiB pieces, its length not announced (chunked).
        return Response((b" " * 2**20 for _ in range(1024)), content_type="application/json")

    started = time.monotonic()
    with pytest.raises(UpstreamParseError, match="body_size_limit"):
        _client(tmp_path, _serve(server, endless), body_size_limit=4 * 2**20).fetch()
    assert time.monotonic() - started < 5.0


def test_a_gzip_bomb_is_cut_at_the_limit_after_decompression(server: HTTPServer, tmp_path: Path) -> None:
    # 16 MiB of a valid (empty) list, padded with spaces, that travels as about 16 KiB.
    padded = b'{"kind": "PodList", "items": []' + b" " * (16 * 2**20) + b"}"
    bomb = gzip.compress(padded, compresslevel=9)
    assert len(bomb) < 2**20
    base = _serve(server, _json(bomb, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(UpstreamParseError, match=r"body_size_limit \(1MiB\)"):
        _client(tmp_path, base, body_size_limit=2**20).fetch()


def test_body_size_limit_is_taken_from_the_config_section(server: HTTPServer, tmp_path: Path) -> None:
    base = _serve(server, _json(pod_list([pod(f"p{i}") for i in range(20)])))
    section = {"kubeconfig": str(_kubeconfig(tmp_path, base)), "contexts": ["prod"]}
    with pytest.raises(UpstreamParseError, match=r"body_size_limit \(1KiB\)"):
        collector({**section, "body_size_limit": "1KiB"}).fetch()
    assert len(collector({**section, "body_size_limit": "1MiB"}).fetch().listings[0].pods) == 20


def test_json_nested_too_deeply_is_a_parse_error(server: HTTPServer, tmp_path: Path) -> None:
    with pytest.raises(UpstreamParseError) as raised:
        _client(tmp_path, _serve(server, _json(DEEP))).fetch()
    assert "nested too deeply" in str(raised.value) and "\n" not in str(raised.value)


def test_deep_json_in_an_error_answer_keeps_the_error_class(server: HTTPServer, tmp_path: Path) -> None:
    with pytest.raises(UpstreamUnavailable, match="HTTP 500"):
        _client(tmp_path, _serve(server, _json(DEEP, status=500))).fetch()


def test_a_record_that_cannot_be_encoded_is_skipped_and_the_rest_exported(
    server: HTTPServer, tmp_path: Path
) -> None:
    pods = [
        pod("good-1", node="gpu-1"),
        pod("good-2", node="bad-node"),  # kept: placed nowhere, as on a node that is not listed
        pod("bad-service", labels={"app.kubernetes.io/name": f"lone-{LONE}"}, node="gpu-1"),
        pod("bad-version", labels={"app.kubernetes.io/name": "llama", "app.kubernetes.io/version": LONE}),
        pod(f"bad-name-{LONE}", node="gpu-1"),
    ]
    nodes = [gke_node("gpu-1"), gke_node("bad-node", labels={"topology.kubernetes.io/zone": f"z{LONE}"})]
    # json.dumps escapes the surrogate as \ud800, as the API server would send it.
    base = _serve(server, _json(pod_list(pods)), _json(pod_list(nodes, kind="NodeList")))
    kube = collector({"kubeconfig": str(_kubeconfig(tmp_path, base)), "contexts": ["prod"]})
    build = kube.build(kube.fetch(), NOW)

    replicas = samples(build.families, "skyserve_replica_info")
    assert sorted(sample["replica_id"] for sample in replicas) == ["good-1", "good-2"]
    assert build.skipped == {BAD_ENCODING: 4}
    assert [sample["node"] for sample in samples(build.families, "skyserve_node_info")] == ["gpu-1"]
    for fmt in Format:
        text = encode_families(fmt, build.families).decode("utf-8")
        assert 'replica_id="good-1"' in text and 'replica_id="good-2"' in text
        assert "lone-" not in text and "bad-name" not in text and "bad-version" not in text

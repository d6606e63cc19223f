"""Automatic sharding: the shard read from the pod's StatefulSet through the Kubernetes API (a fake
one on loopback, over TLS), kept up to date, and the sharding flags of the command line."""

import logging
from pathlib import Path

import pytest
import trustme

from exporter import autoshard
from exporter.autoshard import (
    InClusterApi,
    ShardDiscoveryError,
    ShardWatch,
    StatefulSetShard,
    pod_ordinal,
)
from exporter.cli import EXIT_CONFIG, parse_args, reload_handler, run
from exporter.reload import RunningCollectors
from exporter.sharding import CurrentShard, Shard
from tests.integration.harness import parse_samples, wait_for
from tests.unit.framework.kube_api import NAMESPACE, STATEFULSET, TOKEN, ApiState, FakeApi, fake_api

LOG = logging.getLogger("test.autoshard")


def source(api: FakeApi, pod: str | None = None) -> StatefulSetShard:
    return StatefulSetShard(
        pod or api.state.pod, NAMESPACE, InClusterApi.from_environ(api.environ, api.account_dir)
    )


def test_the_shard_is_the_pods_ordinal_of_the_statefulsets_replicas(tmp_path: Path) -> None:
    with fake_api(tmp_path) as api:
        assert source(api).read() == Shard(1, 3)
        assert api.state.asked == {
            f"/api/v1/namespaces/{NAMESPACE}/pods/{STATEFULSET}-1": 1,
            f"/apis/apps/v1/namespaces/{NAMESPACE}/statefulsets/{STATEFULSET}": 1,
        }


def test_a_statefulset_without_replicas_has_one_as_kubernetes_defaults(tmp_path: Path) -> None:
    with fake_api(tmp_path, ApiState(pod=f"{STATEFULSET}-0", replicas=None)) as api:
        assert source(api).read() == Shard(0, 1)


def test_a_pod_past_the_replicas_is_a_shard_that_owns_nothing(tmp_path: Path) -> None:
    with fake_api(tmp_path, ApiState(pod=f"{STATEFULSET}-3", replicas=3)) as api:
        shard = source(api).read()
    assert shard == Shard(3, 3)
    assert not shard.owns("llama")


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (ApiState(owner_kind="ReplicaSet"), "is not run by a StatefulSet"),
        (ApiState(status=403), "refused to get pod monitoring/skyserve-exporter-1 (HTTP 403)"),
        (ApiState(status=500), "answered HTTP 500"),
        (ApiState(replicas=0), "is scaled to 0 replicas"),
    ],
)
def test_what_the_api_cannot_say_is_an_error_without_the_token(
    tmp_path: Path, state: ApiState, expected: str
) -> None:
    with fake_api(tmp_path, state) as api, pytest.raises(ShardDiscoveryError) as caught:
        source(api).read()
    assert expected in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_a_pod_not_named_after_its_statefulset_has_no_shard(tmp_path: Path) -> None:
    with (
        fake_api(tmp_path, ApiState(pod="exporter-abc")) as api,
        pytest.raises(ShardDiscoveryError) as caught,
    ):
        source(api).read()
    assert "is not named skyserve-exporter-<ordinal>" in str(caught.value)


def test_the_api_is_trusted_only_with_the_service_accounts_ca(tmp_path: Path) -> None:
    with fake_api(tmp_path) as api:
        other = tmp_path / "other-ca.crt"
        trustme.CA().cert_pem.write_to_path(str(other))
        untrusted = InClusterApi(f"https://{api.host}:{api.port}", api.account_dir / "token", other)
        with pytest.raises(ShardDiscoveryError, match=r"cannot reach the Kubernetes API .*SSLError"):
            StatefulSetShard(api.state.pod, NAMESPACE, untrusted).read()
        assert not api.state.asked


def test_a_wrong_or_missing_token_is_refused(tmp_path: Path) -> None:
    with fake_api(tmp_path) as api:
        (api.account_dir / "token").write_text("someone-else")
        with pytest.raises(ShardDiscoveryError, match="HTTP 401"):
            source(api).read()
        (api.account_dir / "token").unlink()
        with pytest.raises(ShardDiscoveryError, match="cannot read the service-account token"):
            source(api).read()


def test_an_unreachable_api_is_an_error(tmp_path: Path) -> None:
    api = InClusterApi("https://127.0.0.1:9", tmp_path / "token", None)
    (tmp_path / "token").write_text(TOKEN)
    with pytest.raises(ShardDiscoveryError, match="cannot reach the Kubernetes API") as caught:
        StatefulSetShard("x-0", NAMESPACE, api).read()
    assert TOKEN not in str(caught.value)


def test_the_api_is_where_the_pods_environment_says() -> None:
    with pytest.raises(ShardDiscoveryError, match="KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT"):
        InClusterApi.from_environ({})
    api = InClusterApi.from_environ({"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"})
    assert api.base_url == "https://[fd00::1]:443"
    assert api.token_file == Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
    assert api.ca_file == Path("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt")


@pytest.mark.parametrize(
    ("pod", "ordinal"),
    [("sky-0", 0), ("sky-12", 12), ("sky-exporter-sky-3", None), ("sky-", None), ("sky-1a", None)],
)
def test_pod_ordinal(pod: str, ordinal: int | None) -> None:
    if ordinal is None:
        with pytest.raises(ShardDiscoveryError):
            pod_ordinal(pod, "sky")
    else:
        assert pod_ordinal(pod, "sky") == ordinal


# -- kept up to date -------------------------------------------------------------------------------


def test_scaling_the_statefulset_reshards_and_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with fake_api(tmp_path) as api:
        current = CurrentShard(Shard(1, 3))
        watch = ShardWatch(source(api), current, LOG)
        with caplog.at_level(logging.INFO, logger=LOG.name):
            assert watch.refresh() == Shard(1, 3)
            api.state.replicas = 4
            assert watch.refresh() == Shard(1, 4)
            assert watch.refresh() == Shard(1, 4)
        assert current() == Shard(1, 4)
        resharded = [r for r in caplog.records if r.getMessage().startswith("resharded")]
        assert len(resharded) == 1
        assert (resharded[0].total_shards, resharded[0].previous_total_shards) == (4, 3)  # type: ignore[attr-defined]


def test_a_failed_reread_keeps_the_shard_and_is_logged_once_per_episode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with fake_api(tmp_path) as api:
        current = CurrentShard(Shard(1, 3))
        watch = ShardWatch(source(api), current, LOG)
        api.state.status = 500
        with caplog.at_level(logging.INFO, logger=LOG.name):
            assert watch.refresh() == Shard(1, 3)
            assert watch.refresh() == Shard(1, 3)
            api.state.status, api.state.replicas = 200, 2
            assert watch.refresh() == Shard(1, 2)
        messages = [r.getMessage() for r in caplog.records]
        assert messages.count("cannot re-read the shard; keeping the current one") == 1
        assert "shard readable again" in messages
        assert not any(TOKEN in r.getMessage() or TOKEN in str(r.__dict__) for r in caplog.records)


def test_the_watch_rereads_on_its_own(tmp_path: Path) -> None:
    with fake_api(tmp_path) as api:
        current = CurrentShard(Shard(1, 3))
        watch = ShardWatch(source(api), current, LOG, interval=0.05)
        watch.start()
        try:
            api.state.replicas = 5
            wait_for(lambda: current() == Shard(1, 5), 10, "the watch to pick up the new size")
        finally:
            watch.stop()


class _Reloads(RunningCollectors):
    def __init__(self) -> None:
        self.calls = 0

    def reload(self) -> str | None:
        self.calls += 1
        return None


def test_a_reload_rereads_the_statefulset_and_the_config(tmp_path: Path) -> None:
    with fake_api(tmp_path) as api:
        current = CurrentShard(Shard(1, 3))
        running = _Reloads()
        api.state.replicas = 2
        assert reload_handler(running, ShardWatch(source(api), current, LOG))() is None
        assert current() == Shard(1, 2)
        assert running.calls == 1
    reload_handler(running, None)()  # flags: nothing to re-read but the config
    assert running.calls == 2


# -- the command line --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--shard", "3", "--total-shards", "3"],
            "--shard must be from 0 to 2 (--total-shards 3 minus 1), got 3",
        ),
        (["--shard", "-1", "--total-shards", "3"], "--shard must be from 0 to 2"),
        (["--shard", "1"], "--shard must be from 0 to 0"),
        (["--total-shards", "0"], "--total-shards must be at least 1, got 0"),
        (["--pod", "x-0"], "--pod and --pod-namespace go together"),
        (["--pod", "", "--pod-namespace", "ns"], "--pod and --pod-namespace go together"),
        (
            ["--pod", "x-0", "--pod-namespace", "ns", "--total-shards", "3"],
            "leave out --shard and --total-shards",
        ),
    ],
)
def test_impossible_sharding_flags_stop_the_start(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_unsharded_by_default() -> None:
    args = parse_args([])
    assert (args.shard, args.total_shards, args.pod, args.pod_namespace) == (None, None, None, None)


def test_once_serves_the_shard_of_the_flags(
    offline_machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["--once", "--shard", "2", "--total-shards", "3"])
    samples = parse_samples(capsys.readouterr().out)
    assert samples[("skyserve_exporter_shard_info", (("shard", "2"), ("total_shards", "3")))] == 1
    assert samples[("skyserve_exporter_total_shards", ())] == 3


def test_once_unsharded_serves_shard_0_of_1(
    offline_machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["--once"])
    samples = parse_samples(capsys.readouterr().out)
    assert samples[("skyserve_exporter_shard_info", (("shard", "0"), ("total_shards", "1")))] == 1


def test_once_with_pod_reads_the_shard_from_the_api(
    offline_machine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with fake_api(tmp_path) as api:
        monkeypatch.setattr(autoshard, "SERVICE_ACCOUNT_DIR", api.account_dir)
        for name, value in api.environ.items():
            monkeypatch.setenv(name, value)
        run(["--once", "--pod", api.state.pod, "--pod-namespace", NAMESPACE])
        samples = parse_samples(capsys.readouterr().out)
        assert samples[("skyserve_exporter_shard_info", (("shard", "1"), ("total_shards", "3")))] == 1
        api.state.status = 403
        assert run(["--once", "--pod", api.state.pod, "--pod-namespace", NAMESPACE]) == EXIT_CONFIG
        captured = capsys.readouterr()
        assert "sharding error: the Kubernetes API refused to get pod" in captured.err
        assert TOKEN not in captured.err + captured.out
        assert "skyserve_exporter_shard_info" not in captured.out


def test_outside_a_pod_auto_sharding_says_what_is_missing(
    offline_machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--once", "--pod", "x-0", "--pod-namespace", "ns"]) == EXIT_CONFIG
    assert "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set" in capsys.readouterr().err

from pathlib import Path

import pytest
from pydantic import ValidationError

from collectors.skyserve.config import (
    Connection,
    SkyServeConfig,
    TokenSource,
    resolve_connection,
    split_credentials,
)
from exporter.config_errors import SectionError
from exporter.redact import redact_text, redact_url

SECRET = "pa55word"


def test_defaults() -> None:
    config = SkyServeConfig()
    assert (config.endpoint, config.token_file, config.interval, config.timeout, config.enabled) == (
        None,
        None,
        30.0,
        20.0,
        True,
    )


def test_durations_and_trailing_slash() -> None:
    config = SkyServeConfig.model_validate(
        {"endpoint": "https://sky.example.com/", "interval": "1m", "timeout": "45s"}
    )
    assert (config.endpoint, config.interval, config.timeout) == ("https://sky.example.com", 60.0, 45.0)


@pytest.mark.parametrize(
    "section",
    [
        {"endpoint": "ftp://sky.example.com"},
        {"endpoint": "sky.example.com:46580"},
        {"endpoint": "http://"},
        {"endpoint": "http://sky.example.com/?x=1"},
        {"endpoint": "http://sky.example.com", "tokenfile": "/x"},  # unknown key
        {"timeout": "soon"},
    ],
)
def test_bad_sections_are_rejected(section: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        SkyServeConfig.model_validate(section)


def test_validation_errors_do_not_echo_credentials() -> None:
    with pytest.raises(ValidationError) as raised:
        SkyServeConfig.model_validate({"endpoint": f"ftp://admin:{SECRET}@sky.example.com"})
    assert SECRET not in str(raised.value)
    assert "http:// or https://" in str(raised.value)


def test_endpoint_and_token_come_from_the_environment() -> None:
    connection = resolve_connection(
        SkyServeConfig(),
        {
            "SKYPILOT_API_SERVER_ENDPOINT": "http://skypilot-api:46580/",
            "SKYPILOT_SERVICE_ACCOUNT_TOKEN": "sky_x ",
        },
    )
    assert connection.base_url == "http://skypilot-api:46580"
    assert connection.token.read() == "sky_x"
    assert connection.basic_auth is None


def test_config_endpoint_wins_over_the_environment() -> None:
    config = SkyServeConfig(endpoint="https://configured:443")
    connection = resolve_connection(config, {"SKYPILOT_API_SERVER_ENDPOINT": "http://from-env:1"})
    assert connection.base_url == "https://configured:443"


def test_missing_endpoint_names_the_key() -> None:
    with pytest.raises(SectionError) as raised:
        resolve_connection(SkyServeConfig(), {})
    assert raised.value.problems == (
        (
            "endpoint",
            "no SkyPilot API server endpoint; set it in the config or in $SKYPILOT_API_SERVER_ENDPOINT",
        ),
    )


@pytest.mark.parametrize(
    ("endpoint", "reason"),
    [
        (f"tcp://admin:{SECRET}@host:1", "must be an http:// or https:// URL with a host (scheme 'tcp')"),
        (f"http://admin:{SECRET}@host:99999", "port must be 1-65535"),
        (f"http://admin:{SECRET}@host:0/sky", "port must be 1-65535, got 0"),
    ],
)
def test_bad_endpoint_from_the_environment_names_the_key_without_credentials(
    endpoint: str, reason: str
) -> None:
    with pytest.raises(SectionError) as raised:
        resolve_connection(SkyServeConfig(), {"SKYPILOT_API_SERVER_ENDPOINT": endpoint})
    assert raised.value.problems == (("endpoint", f"{reason} (from $SKYPILOT_API_SERVER_ENDPOINT)"),)
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize("port", ["0", "65536", "99999", "http"])
def test_endpoint_ports_out_of_range_are_refused_without_echoing_credentials(port: str) -> None:
    with pytest.raises(ValidationError) as raised:
        SkyServeConfig.model_validate({"endpoint": f"http://admin:{SECRET}@sky.example.com:{port}"})
    assert SECRET not in str(raised.value)
    (error,) = raised.value.errors()
    assert error["loc"] == ("endpoint",)
    assert error["msg"].startswith("Value error, port must be 1-65535")


@pytest.mark.parametrize("port", ["1", "65535"])
def test_endpoint_ports_at_the_ends_of_the_range_are_kept(port: str) -> None:
    config = SkyServeConfig.model_validate({"endpoint": f"http://sky.example.com:{port}"})
    assert config.endpoint == f"http://sky.example.com:{port}"


def test_token_file_is_checked_at_start(tmp_path: Path) -> None:
    with pytest.raises(SectionError) as raised:
        resolve_connection(SkyServeConfig(endpoint="http://h:1", token_file=tmp_path / "missing"), {})
    assert raised.value.problems == (
        ("token_file", f"{tmp_path / 'missing'}: cannot read: No such file or directory"),
    )
    token_file = tmp_path / "token"
    token_file.write_text("sky_from_file\n")
    environ = {"SKYPILOT_SERVICE_ACCOUNT_TOKEN": "sky_from_env"}
    connection = resolve_connection(SkyServeConfig(endpoint="http://h:1", token_file=token_file), environ)
    assert connection.token.read() == "sky_from_file"


def test_credentials_in_the_url_become_basic_auth() -> None:
    connection = resolve_connection(SkyServeConfig(endpoint=f"http://ad%40min:{SECRET}@h:1/sky"), {})
    assert connection.base_url == "http://h:1/sky"
    assert connection.basic_auth == ("ad@min", SECRET)
    assert SECRET not in repr(connection)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        (f"http://admin:{SECRET}@h:46580/x", "http://***@h:46580/x"),
        ("https://token@h", "https://***@h"),
        ("http://h:1/path?q=1", "http://h:1/path?q=1"),
        (f"http://a:{SECRET}@[::1]:80", "http://***@[::1]:80"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_split_credentials_without_userinfo() -> None:
    assert split_credentials("http://h:1") == ("http://h:1", None)


def test_redact_text_scrubs_every_url() -> None:
    text = f"tried http://u:{SECRET}@a:1 and https://b:2/x then postgres://db:{SECRET}@db/sky"
    assert redact_text(text) == "tried http://***@a:1 and https://b:2/x then postgres://***@db/sky"


def test_reprs_hide_tokens() -> None:
    connection = Connection(base_url="http://h", token=TokenSource(value="sky_supersecret"))
    assert "sky_supersecret" not in repr(connection)
